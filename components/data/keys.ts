/** API keys for clients (admin). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { AdminListQuery } from "@/lib/queries/admin-lists";
import { api } from "./api";
import type { ApiKey, CreatedApiKey, Page, Role } from "./types";

export const keyKeys = { all: ["keys"] as const, list: (q: Partial<AdminListQuery>) => ["keys", "list", q] as const };

/** One page, newest first: the route's default page holds every key (lib/queries/admin-lists.ts). */
export function useApiKeys(query: Partial<AdminListQuery> = {}) {
  return useQuery({ queryKey: keyKeys.list(query), queryFn: ({ signal }) => api<Page<ApiKey>>("/keys", { params: query, signal }) });
}

function useKeyMutation<V, R>(fn: (v: V) => Promise<R>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => qc.invalidateQueries({ queryKey: keyKeys.all }) });
}

/** Answers the key's secret this once. */
export function useCreateKey() {
  return useKeyMutation((body: { name: string; role: Role }) => api<CreatedApiKey>("/keys", { method: "POST", body }));
}

export function useRevokeKey() {
  return useKeyMutation((id: string) => api<ApiKey>(`/keys/${encodeURIComponent(id)}`, { method: "DELETE" }));
}
