/** People who sign in (admin). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { AdminListQuery } from "@/lib/queries/admin-lists";
import { api } from "./api";
import type { Page, Role, User } from "./types";

/** The roles, lowest first: the API's own list (pure constants, safe in the browser). */
export { KEY_ROLES, ROLES } from "@/lib/auth/roles";

export const userKeys = { all: ["users"] as const, list: (q: Partial<AdminListQuery>) => ["users", "list", q] as const };

const path = (id: string) => `/users/${encodeURIComponent(id)}`;

/** One page, by email: the route's default page holds every user (lib/queries/admin-lists.ts). */
export function useUsers(query: Partial<AdminListQuery> = {}) {
  return useQuery({ queryKey: userKeys.list(query), queryFn: ({ signal }) => api<Page<User>>("/users", { params: query, signal }) });
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
