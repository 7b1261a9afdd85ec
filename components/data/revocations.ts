import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { UrlFilters } from "@/lib/http/params";
import type { revocationListQuery } from "@/lib/queries/revocations";
import { api } from "./api";
import { useInfiniteList } from "./query";
import type { Page, Revocation, RevocationDetail, StreamNotification } from "./types";

/** The filters of GET /api/v1/revocations as URL strings (the route's schema, lib/queries/revocations.ts). */
export type RevocationFilters = UrlFilters<typeof revocationListQuery>;

export function useRevocations(params: RevocationFilters = {}) {
  return useInfiniteList<Revocation>(["revocations", "list", params], "/revocations", { ...params }, { limit: 1000 });
}

export function useRevocation(id: string | null | undefined) {
  return useQuery({
    queryKey: ["revocations", "detail", id],
    queryFn: ({ signal }) => api<RevocationDetail>(`/revocations/${encodeURIComponent(id!)}`, { signal }),
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
