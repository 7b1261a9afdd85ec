import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api } from "./api";
import { useInfiniteList } from "./query";
import type { Revocation } from "./types";

export function useRevocations(params: { from?: string; to?: string; pipeline_id?: string; agent_id?: string } = {}) {
  return useInfiniteList<Revocation>(["revocations", "list", params], "/revocations", { ...params }, { limit: 1000 });
}

export function useRevocation(id: string | null | undefined) {
  return useQuery({
    queryKey: ["revocations", "detail", id],
    queryFn: ({ signal }) => api<Revocation>(`/revocations/${encodeURIComponent(id!)}`, { signal }),
    enabled: !!id,
    placeholderData: keepPreviousData,
  });
}
