/** People who sign in (admin). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "./api";
import type { Page, Role, User } from "./types";

/** The roles, lowest first: the API's own list (pure constants, safe in the browser). */
export { KEY_ROLES, ROLES } from "@/lib/auth/roles";

export const userKeys = { all: ["users"] as const, list: () => ["users", "list"] as const };

const path = (id: string) => `/users/${encodeURIComponent(id)}`;

export function useUsers() {
  return useQuery({ queryKey: userKeys.list(), queryFn: ({ signal }) => api<Page<User>>("/users", { signal }) });
}

function useUserMutation<V, R>(fn: (v: V) => Promise<R>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => qc.invalidateQueries({ queryKey: userKeys.all }) });
}

export function useCreateUser() {
  return useUserMutation((body: { email: string; role: Role; password: string }) => api<User>("/users", { method: "POST", body }));
}

export function useUpdateUser() {
  return useUserMutation(({ id, change }: { id: string; change: { role?: Role; disabled?: boolean } }) => api<User>(path(id), { method: "PATCH", body: change }));
}

export function useDeleteUser() {
  return useUserMutation((id: string) => api<void>(path(id), { method: "DELETE" }));
}
