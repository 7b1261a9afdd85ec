import { apiUrl, type QueryParams } from "./api";
import { useInfiniteList } from "./query";
import type { PostRevocationAction } from "./types";

/** Every filter of GET /api/v1/post-revocation-actions (docs/API.md). */
export const POST_REVOCATION_FILTERS = [
  "agent_id",
  "pipeline_id",
  "credential_id",
  "session_id",
  "layer",
  "decision",
  "violation",
  "from",
  "to",
] as const;
export type PostRevocationFilters = Partial<Record<(typeof POST_REVOCATION_FILTERS)[number] | "revocation_id", string>>;

export function usePostRevocationActions(filters: PostRevocationFilters, opts: { limit?: number; enabled?: boolean } = {}) {
  return useInfiniteList<PostRevocationAction>(["post-revocation-actions", filters], "/post-revocation-actions", { ...filters }, {
    limit: opts.limit ?? 500,
    enabled: opts.enabled,
  });
}

/** A plain link: the browser streams the export to disk, nothing is buffered in the page. */
export function exportUrl(filters: PostRevocationFilters, format: "csv" | "ndjson"): string {
  const params: QueryParams = { ...filters, format };
  return apiUrl("/post-revocation-actions", params);
}
