/** Signing in and out (a person's browser session; the cookie is set and cleared by the API). */
import { useMutation } from "@tanstack/react-query";
import { api } from "./api";

export function useSignIn() {
  return useMutation({ mutationFn: (body: { email: string; password: string }) => api<unknown>("/auth/login", { method: "POST", body }) });
}

export function useSignOut() {
  return useMutation({ mutationFn: () => api<unknown>("/auth/logout", { method: "POST" }) });
}
