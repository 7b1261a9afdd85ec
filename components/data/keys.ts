/** API keys for clients (admin). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "./api";
import type { ApiKey, CreatedApiKey, Page, Role } from "./types";

export const keyKeys = { all: ["keys"] as const, list: () => ["keys", "list"] as const };

export function useApiKeys() {
  return useQuery({ queryKey: keyKeys.list(), queryFn: ({ signal }) => api<Page<ApiKey>>("/keys", { signal }) });
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
