import type { UrlFilters } from "@/lib/http/params";
import type { pairListQuery } from "@/lib/queries/post-revocation";
import { apiUrl, type QueryParams } from "./api";
import { useInfiniteList } from "./query";
import type { PostRevocationAction } from "./types";

/** The filters of GET /api/v1/post-revocation-actions the investigate page offers (docs/API.md; the schema: lib/queries/post-revocation.ts). */
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
] as const satisfies readonly (keyof PostRevocationFilters)[];
export type PostRevocationFilters = Omit<UrlFilters<typeof pairListQuery>, "format">;

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
