"use client";
/** Data hooks for the settings pages (react-query, like components/data/*). */
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type QueryParams } from "@/components/data/api";

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** A settings list; refetched when a change invalidates ["settings", key]. */
export function useSettingsList<T>(key: string, path: string, params?: QueryParams, refetchInterval: number | false = false) {
  return useQuery({
    queryKey: ["settings", key, path, params ?? {}],
    queryFn: ({ signal }) => api<Page<T>>(path, { params, signal }),
    refetchInterval,
  });
}

export function useSettingsPages<T>(key: string, path: string, params: QueryParams) {
  return useInfiniteQuery({
    queryKey: ["settings", key, path, params],
    queryFn: ({ signal, pageParam }) => api<Page<T>>(path, { params: { ...params, cursor: pageParam }, signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    refetchInterval: false,
  });
}

export function useInvalidate(key: string) {
  const qc = useQueryClient();
  return () => qc.invalidateQueries({ queryKey: ["settings", key] });
}
