"use client";
import Link from "next/link";
import { toQueryString, type QueryParams } from "@/components/data/api";

export const agentHref = (id: string, params?: QueryParams) => `/agents/${encodeURIComponent(id)}${toQueryString(params)}`;
export const pipelineHref = (id: string, params?: QueryParams) => `/pipelines/${encodeURIComponent(id)}${toQueryString(params)}`;
export const alertHref = (id: string) => `/alerts/${encodeURIComponent(id)}`;
export const revocationHref = (id: string) => `/revocations/${encodeURIComponent(id)}`;
export const investigateHref = (params: QueryParams) => `/investigate${toQueryString(params)}`;

export function AgentLink({ id, params }: { id: string | null | undefined; params?: QueryParams }) {
  if (!id) return <span className="muted">—</span>;
  return (
    <Link href={agentHref(id, params)} prefetch={false} className="mono" title={id} onClick={(e) => e.stopPropagation()}>
      {id}
    </Link>
  );
}

export function PipelineLink({ id }: { id: string | null | undefined }) {
  if (!id) return <span className="muted">—</span>;
  return (
    <Link href={pipelineHref(id)} prefetch={false} className="mono" title={id} onClick={(e) => e.stopPropagation()}>
      {id}
    </Link>
  );
}

/** A revocation's event id, linking to its page. */
export function RevocationLink({ id }: { id: string | null | undefined }) {
  if (!id) return <span className="muted">—</span>;
  return (
    <Link href={revocationHref(id)} prefetch={false} className="mono" title={id} onClick={(e) => e.stopPropagation()}>
      {id}
    </Link>
  );
}
