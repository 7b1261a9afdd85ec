"use client";
import Link from "next/link";
import { useCallback, useMemo } from "react";
import { TIMELINE_PAGE, useAgentsTimelines, usePipeline } from "@/components/data/pipelines";
import type { TimelineEvent, TimelineRevocation } from "@/components/data/types";
import { ContainmentBadge } from "@/components/ui/badges";
import { EventDrawer } from "@/components/ui/event-drawer";
import { investigateHref } from "@/components/ui/links";
import { Empty, ErrorState, Loading } from "@/components/ui/states";
import { TimeRangePicker, useTimeRange } from "@/components/ui/time-range";
import { useUrlState } from "@/components/ui/url-state";
import { Timeline } from "@/components/timeline/timeline";
import { formatZoom, parseZoom } from "@/components/timeline/model";
import { ContainmentMatrix } from "./containment-matrix";
import { DelegationTree } from "./credentials";
import { RevocationsTable } from "./revocations-table";

const laneOf = (e: TimelineEvent) => e.agent_id;
/** SPIFFE ids share a long trust-domain prefix: the lane shows the path. */
const laneLabel = (id: string) => id.replace(/^spiffe:\/\/[^/]+\//, "");

export function PipelineDetailView({ pipelineId }: { pipelineId: string }) {
  const { get, set } = useUrlState();
  const range = useTimeRange("all");
  const pipeline = usePipeline(pipelineId);
  const p = pipeline.data;
  const agentIds = useMemo(() => (p?.agents ?? []).map((a) => a.agent_id), [p?.agents]);
  const timelines = useAgentsTimelines(agentIds, range);
  const events = useMemo(() => timelines.flatMap((t) => t.data?.items ?? []).filter((e) => !e.pipeline_id || e.pipeline_id === pipelineId), [timelines, pipelineId]);
  const revocations: TimelineRevocation[] = useMemo(() => (p?.revocations ?? []).map((r) => ({ event_id: r.event_id, time: r.time, scope: r.scope, subject: r.subject, reinstated_at: r.reinstated_at })), [p?.revocations]);
  const layers = useMemo(() => p?.layers ?? [...new Set((p?.matrix ?? []).map((c) => c.layer))].sort(), [p]);
  const zoom = parseZoom(get("zoom"));
  const selectedId = get("event") || null;
  const selected = useMemo(() => (selectedId ? events.find((e) => e.event_id === selectedId) ?? null : null), [events, selectedId]);
  const onZoom = useCallback((z: [number, number] | null) => set({ zoom: formatZoom(z) }), [set]);
  const onSelect = useCallback((e: TimelineEvent) => set({ event: e.event_id }), [set]);
  const timelinesPending = agentIds.length > 0 && timelines.some((t) => t.isPending);
  // Said, not hidden: an agent whose timeline did not load would simply be missing from the
  // lanes, and each lane holds the agent's newest events only (the first page of its timeline).
  const failedTimelines = timelines.filter((t) => t.error && !t.data);
  const truncatedLanes = timelines.filter((t) => t.data?.next_cursor).length;

  return (
    <>
      <div className="crumbs">
        <Link href="/pipelines">Pipelines</Link> /
      </div>
      <div className="page-head">
        <div>
          <h1 className="mono" data-testid="pipeline-title">{pipelineId}</h1>
          <div className="row sub" style={{ marginTop: 4, minHeight: 22 }}>
            {p ? (
              <>
                <ContainmentBadge value={p.containment ?? null} />
                <span>{p.agents.length} agents</span>
                <span>· {p.revocations.length} revocations</span>
                <span>· layers: {layers.join(", ") || "—"}</span>
              </>
            ) : !pipeline.error ? (
              <span className="skeleton" style={{ width: 360 }}>loading</span>
            ) : null}
          </div>
        </div>
        <div className="page-head-actions">
          <Link className="btn btn-sm" href={investigateHref({ pipeline_id: pipelineId })}>
            Investigate post-revocation actions →
          </Link>
        </div>
      </div>
      {pipeline.error && !p ? (
        <ErrorState error={pipeline.error} height={300} retry={() => void pipeline.refetch()} />
      ) : (
        <>
          <div className="card">
            <div className="card-head">
              <h2>Agents on one timeline</h2>
              <div className="right">
                <TimeRangePicker fallback="all" custom={false} />
              </div>
            </div>
            {(failedTimelines.length > 0 || truncatedLanes > 0) && (
              <p className="faint" data-testid="pipeline-timeline-note" role="status">
                {failedTimelines.length > 0 && `${failedTimelines.length} of ${agentIds.length} agents' events could not be loaded (retrying). `}
                {truncatedLanes > 0 && `${truncatedLanes} agents show their newest ${TIMELINE_PAGE.toLocaleString("en-US")} events only: open an agent for all of them, or narrow the range.`}
              </p>
            )}
            {!p || timelinesPending ? (
              <Loading height={240} />
            ) : agentIds.length > 0 && failedTimelines.length === agentIds.length ? (
              <ErrorState error={failedTimelines[0].error} height={240} retry={() => failedTimelines.forEach((t) => void t.refetch())} />
            ) : events.length === 0 && revocations.length === 0 ? (
              <Empty title="No events in this range" height={240} />
            ) : (
              <Timeline
                testId="pipeline-timeline"
                events={events}
                lanes={agentIds}
                laneOf={laneOf}
                laneLabel={laneLabel}
                revocations={revocations}
                zoom={zoom}
                onZoom={onZoom}
                selectedId={selectedId}
                onSelect={onSelect}
              />
            )}
          </div>
          <div className="card section">
            <div className="card-head">
              <h2>Containment matrix</h2>
              <span className="faint" style={{ fontSize: 12 }}>post-revocation behaviour per agent and layer</span>
            </div>
            {!p ? <Loading height={160} /> : agentIds.length === 0 ? <Empty title="No agents" /> : <ContainmentMatrix agents={agentIds} layers={layers} cells={p.matrix} />}
          </div>
          <div className="card section">
            <div className="card-head">
              <h2>Credential delegation tree</h2>
            </div>
            {!p ? <Loading height={160} /> : p.credentials.length === 0 ? <Empty title="No credentials seen" /> : <DelegationTree credentials={p.credentials} />}
          </div>
          <div className="card section">
            <div className="card-head">
              <h2>Revocations that touched this pipeline</h2>
            </div>
            {!p ? <Loading height={120} /> : p.revocations.length === 0 ? <Empty title="No revocations" height={100} /> : <div className="table-scroll"><RevocationsTable revocations={p.revocations} /></div>}
          </div>
        </>
      )}
      <EventDrawer event={selected} onClose={() => set({ event: null })} />
    </>
  );
}
