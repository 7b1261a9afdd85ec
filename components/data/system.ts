import { useQuery } from "@tanstack/react-query";
import { api, ApiClientError } from "./api";
import type { DeadLetterSummary, Health } from "./types";

export function useHealth() {
  return useQuery({ queryKey: ["health"], queryFn: ({ signal }) => api<Health>("/health", { signal }), refetchInterval: 5000 });
}

export function useDeadLetters() {
  return useQuery({ queryKey: ["dead-letters"], queryFn: ({ signal }) => api<DeadLetterSummary>("/dead-letters", { signal }) });
}

/**
 * GET /api/v1/overview when the server has it; null when it answers 404 (older server),
 * in which case the overview page derives its numbers from the other resources.
 */
export function useOverview<T>(params: { from?: string; to?: string }) {
  return useQuery({
    queryKey: ["overview", params],
    queryFn: async ({ signal }) => {
      try {
        return await api<T>("/overview", { params, signal });
      } catch (err) {
        if (err instanceof ApiClientError && err.status === 404 && err.code !== "not_found") return null;
        if (err instanceof ApiClientError && err.status === 404) return null;
        throw err;
      }
    },
  });
}
