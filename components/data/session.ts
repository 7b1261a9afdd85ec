/** Signing in and out (a person's browser session; the cookie is set and cleared by the API), and who is signed in. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { roleAtLeast, type Principal, type Role } from "@/lib/auth/roles";
import { api } from "./api";

export function useSignIn() {
  return useMutation({ mutationFn: (body: { email: string; password: string }) => api<unknown>("/auth/login", { method: "POST", body }) });
}

export function useSignOut() {
  return useMutation({ mutationFn: () => api<unknown>("/auth/logout", { method: "POST" }) });
}

/** Who is signed in (GET /api/v1/auth/me), read once per page load: a role changes only with a new sign-in. */
export function useMe() {
  return useQuery({
    queryKey: ["auth", "me"],
    queryFn: ({ signal }) => api<Principal>("/auth/me", { signal }),
    staleTime: Infinity,
    refetchInterval: false,
  });
}

/**
 * Whether the signed-in role includes `need` (docs/ROLES.md), so that the UI offers only what
 * the server will do; undefined until known. Never the check itself: every route checks on the server.
 */
export function useRoleAtLeast(need: Role): boolean | undefined {
  const me = useMe();
  return me.data ? roleAtLeast(me.data.role, need) : undefined;
}
