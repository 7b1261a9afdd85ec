import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { UrlFilters } from "@/lib/http/params";
import type { alertListQuery } from "@/lib/queries/alerts";
import { api } from "./api";
import { useInfiniteList } from "./query";
import type { Alert, AlertDetail, AlertStatus } from "./types";

/** The filters of GET /api/v1/alerts as URL strings (the route's schema, lib/queries/alerts.ts). */
export type AlertFilters = UrlFilters<typeof alertListQuery>;

export const alertKeys = {
  all: ["alerts"] as const,
  list: (f: AlertFilters) => ["alerts", "list", f] as const,
  detail: (id: string) => ["alerts", "detail", id] as const,
};

export function useAlerts(filters: AlertFilters, opts: { limit?: number } = {}) {
  return useInfiniteList<Alert>(alertKeys.list(filters), "/alerts", { ...filters }, { limit: opts.limit ?? 200 });
}

export function useAlert(id: string) {
  return useQuery({
    queryKey: alertKeys.detail(id),
    queryFn: ({ signal }) => api<AlertDetail>(`/alerts/${encodeURIComponent(id)}`, { signal }),
    placeholderData: keepPreviousData,
  });
}

/** Acknowledge / resolve / re-open, with an optional comment kept in the alert's history. */
export function useUpdateAlert(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { status: AlertStatus; comment?: string }) =>
      api<Alert>(`/alerts/${encodeURIComponent(id)}`, { method: "PATCH", body }),
    onSuccess: async () => {
      // Every list and the detail show the status: refresh them all now, not at the next poll.
      await qc.invalidateQueries({ queryKey: alertKeys.all });
      await qc.invalidateQueries({ queryKey: ["overview"] });
    },
  });
}
