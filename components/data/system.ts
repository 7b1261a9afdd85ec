import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api } from "./api";
import type { DeadLetterSummary, Health, Overview } from "./types";

export function useHealth() {
  return useQuery({ queryKey: ["health"], queryFn: ({ signal }) => api<Health>("/health", { signal }), refetchInterval: 5000 });
}

export function useDeadLetters(limit = 20) {
  return useQuery({ queryKey: ["dead-letters", limit], queryFn: ({ signal }) => api<DeadLetterSummary>("/dead-letters", { params: { limit }, signal }) });
}

/** Counts and series for the overview page over [from, to] (server default: the last 24 h). */
export function useOverview(params: { from?: string; to?: string }) {
  return useQuery({
    queryKey: ["overview", params],
    queryFn: ({ signal }) => api<Overview>("/overview", { params, signal }),
    placeholderData: keepPreviousData,
  });
}
