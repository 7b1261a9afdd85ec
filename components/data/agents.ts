import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { UrlFilters } from "@/lib/http/params";
import type { agentListQuery, timelineQuery } from "@/lib/queries/agents";
import { api } from "./api";
import { useInfiniteList } from "./query";
import type { AgentDetail, AgentSummary, TimelineEvent, TimelinePage } from "./types";

/** The filters of GET /api/v1/agents as URL strings (the route's schema, lib/queries/agent-list.ts). */
export type AgentFilters = UrlFilters<typeof agentListQuery>;

export const agentKeys = {
  all: ["agents"] as const,
  list: (f: AgentFilters) => ["agents", "list", f] as const,
  detail: (id: string) => ["agents", "detail", id] as const,
  timeline: (id: string) => ["agents", "timeline", id] as const,
};

export function useAgents(filters: AgentFilters) {
  return useInfiniteList<AgentSummary>(agentKeys.list(filters), "/agents", { ...filters }, { limit: 500 });
}

export function useAgent(agentId: string) {
  return useQuery({
    queryKey: agentKeys.detail(agentId),
    queryFn: ({ signal }) => api<AgentDetail>(`/agents/${encodeURIComponent(agentId)}`, { signal }),
    placeholderData: keepPreviousData,
  });
}

/** The agent's events in [from, to] (ISO strings; empty = open), newest first, 1000 a page. */
export function useAgentTimeline(agentId: string, range: UrlFilters<typeof timelineQuery>, opts: { enabled?: boolean } = {}) {
  return useInfiniteList<TimelineEvent, TimelinePage>(
    agentKeys.timeline(agentId),
    `/agents/${encodeURIComponent(agentId)}/timeline`,
    { from: range.from, to: range.to },
    { limit: 1000, enabled: opts.enabled },
  );
}
