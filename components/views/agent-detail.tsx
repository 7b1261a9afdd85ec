"use client";
import Link from "next/link";
import { useCallback, useMemo } from "react";
import { useAgent, useAgentTimeline } from "@/components/data/agents";
import { flattenPages } from "@/components/data/query";
import type { TimelineContextSpan, TimelineEvent, TimelinePage } from "@/components/data/types";
import { ContainmentBadge } from "@/components/ui/badges";
import { DataTable } from "@/components/ui/data-table";
import { EventDrawer } from "@/components/ui/event-drawer";
import { PipelineLink, investigateHref } from "@/components/ui/links";
import { Empty, ErrorState, Loading } from "@/components/ui/states";
import { Time } from "@/components/ui/time";
import { TimeRangePicker, useTimeRange } from "@/components/ui/time-range";
import { useUrlState } from "@/components/ui/url-state";
import { Timeline } from "@/components/timeline/timeline";
import { formatZoom, parseZoom } from "@/components/timeline/model";
import { eventColumns, eventRowClass } from "./event-columns";
import { CredentialsTable, DelegationTree } from "./credentials";

const NO_LAYER = "(no layer)";
const laneOf = (e: TimelineEvent) => e.layer || NO_LAYER;

export function AgentDetailView({ agentId }: { agentId: string }) {
  const { get, set } = useUrlState();
  const range = useTimeRange("all");
  const agent = useAgent(agentId);
  const timeline = useAgentTimeline(agentId, range);
  const events = useMemo(() => flattenPages(timeline.data), [timeline.data]);
  const revocations = useMemo(() => (timeline.data?.pages[0] as TimelinePage | undefined)?.revocations ?? [], [timeline.data]);
  // Each page carries the context spans of the time its events cover.
  const context = useMemo(() => {
    const seen = new Map<string, TimelineContextSpan>();
    for (const p of (timeline.data?.pages ?? []) as TimelinePage[]) for (const c of p.context ?? []) seen.set(`${c.trace_id}/${c.span_id}`, c);
    return [...seen.values()];
  }, [timeline.data]);
  const zoom = parseZoom(get("zoom"));
  const selectedId = get("event") || null;
  const focus = get("at") ? Date.parse(get("at")) : null;

  const lanes = useMemo(() => {
    const set = new Set<string>(agent.data?.layers ?? []);
    for (const e of events) set.add(laneOf(e));
    const arr = [...set].filter((l) => l !== NO_LAYER).sort();
    if (set.has(NO_LAYER)) arr.push(NO_LAYER);
    return arr;
  }, [agent.data?.layers, events]);

  const visible = useMemo(() => (zoom ? events.filter((e) => { const t = Date.parse(e.time); return t >= zoom[0] && t <= zoom[1]; }) : events), [events, zoom]);
  // Zoomed, the table holds the loaded events inside the window: older pages can add to it only
  // while the oldest loaded event is after the window's start (else scrolling a short window
  // would load the agent's whole history, page after page, none of it in view).
  const olderMayBeInView = !zoom || events.length === 0 || Date.parse(events[events.length - 1].time) > zoom[0];
  const counts = useMemo(() => {
    let v = 0, b = 0;
    for (const e of visible) {
      const f = e.post_revocation ?? [];
      if (f.some((x) => x.violation)) v++;
      else if (f.length) b++;
    }
    return { v, b };
  }, [visible]);
  const selected = useMemo(() => (selectedId ? events.find((e) => e.event_id === selectedId) ?? null : null), [events, selectedId]);
  const onZoom = useCallback((z: [number, number] | null) => set({ zoom: formatZoom(z) }), [set]);
  const onSelect = useCallback((e: TimelineEvent) => set({ event: e.event_id }), [set]);
  const closeDrawer = useCallback(() => set({ event: null }), [set]);

  const a = agent.data;
  return (
    <>
      <div className="crumbs">
        <Link href="/agents">Agents</Link> /
      </div>
      <div className="page-head">
        <div>
          <h1 className="mono" data-testid="agent-title">{agentId}</h1>
          <div className="row sub" style={{ marginTop: 4, minHeight: 22 }}>
            {a ? (
              <>
                {a.revoked ? <span className="badge badge-revoked">⊘ revoked</span> : <span className="badge badge-plain">active</span>}
                <ContainmentBadge value={a.containment} />
                <span>
                  pipelines:{" "}
                  {a.pipelines.length
                    ? a.pipelines.map((p, i) => (
                        <span key={p}>
                          {i > 0 && ", "}
                          <PipelineLink id={p} />
                        </span>
                      ))
                    : "—"}
                </span>
                <span>· {a.event_count.toLocaleString("en-US")} events</span>
                <span style={{ color: a.violation_count ? "var(--violation)" : undefined }}>· ▲ {a.violation_count} violations</span>
                <span>
                  · seen <Time value={a.first_seen} ms={false} /> → <Time value={a.last_seen} ms={false} />
                </span>
              </>
            ) : agent.error ? null : (
              <span className="skeleton" style={{ width: 480 }}>loading</span>
            )}
          </div>
        </div>
        <div className="page-head-actions">
          <Link className="btn btn-sm" href={investigateHref({ agent_id: agentId })}>
            Investigate post-revocation actions →
          </Link>
        </div>
      </div>
      {agent.error && !a ? <ErrorState error={agent.error} retry={() => void agent.refetch()} /> : null}

      <div className="card">
        <div className="card-head">
          <h2>Timeline</h2>
          <span className="muted" style={{ fontSize: 12.5 }}>
            {visible.length.toLocaleString("en-US")} events in view · <span style={{ color: "var(--violation)" }}>▲ {counts.v} violations</span> ·{" "}
            <span style={{ color: "var(--blocked)" }}>■ {counts.b} blocked</span>
          </span>
        </div>
        <div className="card-toolbar">
          <TimeRangePicker fallback="all" />
        </div>
        {timeline.isPending ? (
          <Loading height={260} />
        ) : timeline.error && !timeline.data ? (
          <ErrorState error={timeline.error} height={260} retry={() => void timeline.refetch()} />
        ) : events.length === 0 && revocations.length === 0 && context.length === 0 ? (
          <Empty title="No events in this range" height={260}>Pick a wider time range.</Empty>
        ) : (
          <Timeline
            testId="agent-timeline"
            events={events}
            lanes={lanes}
            laneOf={laneOf}
            revocations={revocations}
            zoom={zoom}
            onZoom={onZoom}
            selectedId={selectedId}
            onSelect={onSelect}
            focusTime={focus}
            range={range.key === "custom" ? range : undefined}
            context={context}
          />
        )}
      </div>

      <div className="card section">
        <div className="card-head">
          <h2>Events</h2>
          <span className="muted" style={{ fontSize: 12.5 }}>
            {zoom ? "within the zoomed window" : "in the selected range"}; newest first
          </span>
        </div>
        <DataTable
          label="Agent events"
          testId="events-table"
          data={visible}
          columns={eventColumns}
          rowId={(e) => e.event_id}
          height={420}
          selectedId={selectedId}
          rowClassName={eventRowClass}
          onRowClick={onSelect}
          onEndReached={timeline.hasNextPage && !timeline.isFetchingNextPage && olderMayBeInView ? () => void timeline.fetchNextPage() : undefined}
          empty={<Empty title="No events" height={120} />}
          footer={
            <>
              <span>
                {events.length.toLocaleString("en-US")} loaded{timeline.hasNextPage ? " · scroll to load older events" : " · all events in range"}
              </span>
              {timeline.isFetchingNextPage && <span className="faint">loading more…</span>}
            </>
          }
        />
      </div>

      <div className="grid grid-main-side section">
        <div className="card">
          <div className="card-head">
            <h2>Credentials and lineage</h2>
          </div>
          {!a ? (
            <Loading height={120} />
          ) : a.credentials.length === 0 ? (
            <Empty title="No credentials seen" height={120} />
          ) : (
            <div className="stack">
              <DelegationTree credentials={a.credentials} holder={agentId} />
              <div className="table-scroll">
                <CredentialsTable credentials={a.credentials} holder={agentId} />
              </div>
            </div>
          )}
        </div>
        <div className="card">
          <div className="card-head">
            <h2>Sessions</h2>
          </div>
          {!a ? (
            <Loading height={120} />
          ) : a.sessions.length === 0 ? (
            <Empty title="No sessions" height={120} />
          ) : (
            <div className="table-scroll">
            <table className="simple" data-testid="sessions-table">
              <thead>
                <tr>
                  <th>Session</th>
                  <th>Started</th>
                  <th>Last seen</th>
                  <th className="num">Events</th>
                </tr>
              </thead>
              <tbody>
                {a.sessions.map((s) => (
                  <tr key={s.session_id}>
                    <td className="mono">
                      <Link href={investigateHref({ agent_id: agentId, session_id: s.session_id })}>{s.session_id}</Link>
                    </td>
                    <td>
                      <Time value={(s.started_at ?? s.first_seen) as string} ms={false} />
                    </td>
                    <td>
                      <Time value={s.last_seen as string} ms={false} />
                    </td>
                    <td className="num">{s.event_count ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            </div>
          )}
        </div>
      </div>
      <EventDrawer event={selected} onClose={closeDrawer} />
    </>
  );
}
