"use client";
/**
 * Page state (filters, time range, selection) lives in the URL so any view is a link.
 * Updates replace the history entry (typing in a filter must not flood Back) and keep scroll.
 */
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useCallback, useMemo } from "react";

export type UrlPatch = Record<string, string | number | null | undefined>;

export function useUrlState() {
  const sp = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const get = useCallback((k: string) => sp.get(k) ?? "", [sp]);
  const set = useCallback(
    (patch: UrlPatch, opts: { push?: boolean } = {}) => {
      // The URL as it is now, not as it was when this render ran: a debounced filter calls set
      // after other controls may have changed the URL, and must not undo them.
      const next = new URLSearchParams(window.location.search);
      for (const [k, v] of Object.entries(patch)) {
        if (v === null || v === undefined || v === "") next.delete(k);
        else next.set(k, String(v));
      }
      const qs = next.toString();
      const url = qs ? `${pathname}?${qs}` : pathname;
      if (opts.push) router.push(url, { scroll: false });
      else router.replace(url, { scroll: false });
    },
    [router, pathname],
  );
  const all = useMemo(() => Object.fromEntries(sp.entries()) as Record<string, string>, [sp]);
  return { get, set, all, search: sp.toString() };
}

/** Picks the given keys out of the URL state, dropping empty ones. */
export function pick<K extends string>(all: Record<string, string>, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const k of keys) if (all[k]) out[k] = all[k];
  return out;
}
