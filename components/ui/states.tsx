"use client";
/** Loading, empty and error states, sized like the content they stand in for (no layout jumps). */
import Link from "next/link";
import type { ReactNode } from "react";
import { ApiClientError } from "@/components/data/api";

export function Loading({ label = "Loading…", height = 160 }: { label?: string; height?: number }) {
  return (
    <div className="state state-loading" style={{ minHeight: height }} role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function Empty({ title, children, height = 160 }: { title: string; children?: ReactNode; height?: number }) {
  return (
    <div className="state state-empty" style={{ minHeight: height }}>
      <strong>{title}</strong>
      {children && <div className="muted">{children}</div>}
    </div>
  );
}

export function ErrorState({ error, height = 160, retry }: { error: unknown; height?: number; retry?: () => void }) {
  const e = error instanceof ApiClientError ? error : null;
  return (
    <div className="state state-error" style={{ minHeight: height }} role="alert">
      <strong>{e?.unauthenticated ? "Sign in required" : e?.forbidden ? "Not allowed" : e?.notFound ? "Not found" : "Could not load this"}</strong>
      <div className="muted">
        {e ? `${e.message}${e.code ? ` (${e.code})` : ""}` : error instanceof Error ? error.message : String(error)}
      </div>
      <div className="state-actions">
        {e?.unauthenticated && (
          <Link className="btn btn-sm" href="/login">
            Sign in
          </Link>
        )}
        {retry && (
          <button type="button" className="btn btn-sm" onClick={retry}>
            Retry
          </button>
        )}
      </div>
    </div>
  );
}

/**
 * Renders loading / error / empty / content for one query. Once data exists, a failing
 * poll keeps the data on screen (the live indicator turns amber) instead of blanking it.
 */
export function QueryState<T>({
  query,
  isEmpty,
  empty,
  height,
  children,
}: {
  query: { data: T | undefined | null; error: unknown; isPending: boolean; refetch: () => unknown };
  isEmpty?: (d: T) => boolean;
  empty?: ReactNode;
  height?: number;
  children: (data: T) => ReactNode;
}) {
  if (query.data !== undefined && query.data !== null) {
    if (isEmpty?.(query.data)) return <>{empty ?? <Empty title="Nothing here yet" height={height} />}</>;
    return <>{children(query.data)}</>;
  }
  if (query.error) return <ErrorState error={query.error} height={height} retry={() => void query.refetch()} />;
  return <Loading height={height} />;
}
