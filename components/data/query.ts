/**
 * Shared react-query plumbing for the resource hooks: live polling interval, and one
 * paginated-list helper over the API's {items, next_cursor} shape.
 */
import { keepPreviousData, useInfiniteQuery, type InfiniteData } from "@tanstack/react-query";
import { api, ApiClientError, type QueryParams } from "./api";
import type { Page } from "./types";

/** Every open page refreshes this often, so a new alert shows within 2 s (docs/ARCHITECTURE.md, "Reading"). */
export const LIVE_INTERVAL_MS = 1500;

/** Infinite lists re-poll every loaded page; past this many pages only the user's scrolling loads data. */
const MAX_LIVE_PAGES = 3;

/**
 * The server answered that this role may not read it (403): asking again every poll changes
 * nothing, and the data shown is not stale for it. (A 404 is asked again: what is not there
 * yet, a revocation still on its way through ingest, may be on the next poll.)
 */
export function isSettledRefusal(error: unknown): boolean {
  return error instanceof ApiClientError && error.status === 403;
}

/** The live polling interval, except for a query the server refused for good (isSettledRefusal). */
export function liveInterval(query: { state: { error: unknown } }): number | false {
  return isSettledRefusal(query.state.error) ? false : LIVE_INTERVAL_MS;
}

export function retryUnlessClientError(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiClientError && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
}

export function flattenPages<T>(data: InfiniteData<Page<T>> | undefined): T[] {
  if (!data) return [];
  if (data.pages.length === 1) return data.pages[0].items;
  return data.pages.flatMap((p) => p.items);
}

/** A cursor-paginated list, newest first, polled live while few pages are loaded. */
export function useInfiniteList<T, P extends Page<T> = Page<T>>(
  key: readonly unknown[],
  path: string,
  params: QueryParams,
  opts: { limit?: number; enabled?: boolean; live?: boolean } = {},
) {
  const limit = opts.limit ?? 200;
  return useInfiniteQuery({
    queryKey: [...key, params, limit],
    queryFn: ({ pageParam, signal }) => api<P>(path, { params: { ...params, limit, cursor: pageParam }, signal }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
    enabled: opts.enabled ?? true,
    refetchInterval: (q) => (opts.live === false || (q.state.data?.pages.length ?? 0) > MAX_LIVE_PAGES ? false : liveInterval(q)),
  });
}
