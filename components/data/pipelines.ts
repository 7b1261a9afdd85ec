import { keepPreviousData, useQueries, useQuery } from "@tanstack/react-query";
import type { UrlFilters } from "@/lib/http/params";
import type { pipelineListQuery } from "@/lib/queries/pipelines";
import { api } from "./api";
import { liveInterval, useInfiniteList } from "./query";
import { agentKeys } from "./agents";
import type { PipelineDetail, PipelineSummary, TimelinePage } from "./types";

export const pipelineKeys = {
  list: (q: string) => ["pipelines", "list", q] as const,
  detail: (id: string) => ["pipelines", "detail", id] as const,
};

export function usePipelines(q: UrlFilters<typeof pipelineListQuery>["q"] = "") {
  return useInfiniteList<PipelineSummary>(pipelineKeys.list(q), "/pipelines", { q }, { limit: 500 });
}

export function usePipeline(pipelineId: string) {
  return useQuery({
    queryKey: pipelineKeys.detail(pipelineId),
    queryFn: ({ signal }) => api<PipelineDetail>(`/pipelines/${encodeURIComponent(pipelineId)}`, { signal }),
    placeholderData: keepPreviousData,
  });
}

/** Events per agent on the pipeline's shared timeline: the first page of each agent's timeline. */
export const TIMELINE_PAGE = 1000;

/** First timeline page of each agent (one lane per agent on the pipeline's shared timeline). */
export function useAgentsTimelines(agentIds: string[], range: { from?: string; to?: string }) {
  return useQueries({
    queries: agentIds.map((id) => ({
      queryKey: [...agentKeys.timeline(id), "first", range],
      queryFn: ({ signal }: { signal: AbortSignal }) =>
        api<TimelinePage>(`/agents/${encodeURIComponent(id)}/timeline`, { params: { ...range, limit: TIMELINE_PAGE }, signal }),
      refetchInterval: liveInterval,
      placeholderData: keepPreviousData,
    })),
  });
}
