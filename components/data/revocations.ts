import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api } from "./api";
import { useInfiniteList } from "./query";
import type { Page, Revocation, StreamNotification } from "./types";

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

/** Which SSF receivers were told about a revocation, and when they acknowledged. */
export function useRevocationNotifications(id: string | null | undefined) {
  return useQuery({
    queryKey: ["revocations", "notifications", id],
    queryFn: ({ signal }) => api<Page<StreamNotification>>(`/revocations/${encodeURIComponent(id!)}/notifications`, { signal }),
    enabled: !!id,
    refetchInterval: 10_000,
  });
}
