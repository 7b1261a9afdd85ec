"use client";
import Link from "next/link";
import { useMemo, type ReactNode } from "react";
import { useRouter } from "next/navigation";
import { usePostRevocationActions } from "@/components/data/investigate";
import { flattenPages } from "@/components/data/query";
import { useRevocation } from "@/components/data/revocations";
import type { Containment, RevocationDetail } from "@/components/data/types";
import { ContainmentBadge, LayerStatusBadge } from "@/components/ui/badges";
import { DataTable } from "@/components/ui/data-table";
import { AgentLink, PipelineLink, alertHref, investigateHref } from "@/components/ui/links";
import { Empty, ErrorState, Loading } from "@/components/ui/states";
import { Time, formatDuration } from "@/components/ui/time";
import { alertColumns } from "./alert-columns";
import { NotifiedCard } from "./notified";
import { pairColumns, pairRowClass } from "./pair-columns";
import { RevocationOriginCard } from "./revocation-origin";

/** Every pair on this page is under this revocation: the column would repeat its id. */
const actionColumns = pairColumns.filter((c) => c.id !== "revocation_id");
/** The card sits in the narrower main column: the pipelines are listed above, and the rule name needs the room. */
const alertsColumns = alertColumns.filter((c) => c.id !== "pipeline_id" && c.id !== "updated_at");

/** docs/SEMANTICS.md, "Containment", in the words an investigator needs next to the badge. */
const CONTAINMENT_MEANING: Record<Containment, string> = {
  contained: "No covered action got through after the revocation.",
  partial: "Some enforcement points blocked the revoked credentials, others let them through.",
  uncontained: "Covered actions got through after the revocation and none was blocked.",
};

/** The subject links to its page when it has one (agents and pipelines do; sessions and credentials do not). */
function Subject({ r }: { r: RevocationDetail }) {
  if (r.scope === "agent") return <AgentLink id={r.subject} />;
  if (r.scope === "pipeline") return <PipelineLink id={r.subject} />;
  return <span className="mono">{r.subject}</span>;
}

function FactsCard({ r }: { r: RevocationDetail }) {
  return (
    <div className="card" data-testid="revocation-facts">
      <div className="card-head">
        <h2>Revocation</h2>
      </div>
      <dl className="kv">
        <dt>event</dt>
        <dd>{r.event_id}</dd>
        <dt>scope</dt>
        <dd>{r.scope}</dd>
        <dt>subject</dt>
        <dd data-testid="revocation-subject">
          <Subject r={r} />
        </dd>
        <dt>revoked at</dt>
        <dd>
          <Time value={r.time} />
        </dd>
        <dt>reason</dt>
        <dd>{r.reason || "—"}</dd>
        <dt>initiated by</dt>
        <dd>{r.initiated_by || "—"}</dd>
        <dt>cascade</dt>
        <dd>{r.cascade ? "yes: credentials delegated from the subject's are revoked too" : "no"}</dd>
        <dt>reinstated at</dt>
        <dd>{r.reinstated_at ? <Time value={r.reinstated_at} /> : "not reinstated: still in force"}</dd>
      </dl>
    </div>
  );
}

function ContainmentCard({ r }: { r: RevocationDetail }) {
  const layers = Object.entries(r.layers).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div className="card" data-testid="revocation-containment">
      <div className="card-head">
        <h2>Containment</h2>
        <ContainmentBadge value={r.containment} />
        <span className="faint" style={{ fontSize: 12 }}>
          evaluated <Time value={r.evaluated_at} ms={false} />
        </span>
      </div>
      <p className="muted" style={{ marginTop: 0 }}>
        {CONTAINMENT_MEANING[r.containment]}
      </p>
      <dl className="kv">
        <dt>violations</dt>
        <dd style={{ color: r.violation_count ? "var(--violation)" : undefined }} data-testid="revocation-violations">
          ▲ {r.violation_count}
        </dd>
        <dt>blocked attempts</dt>
        <dd data-testid="revocation-blocked">■ {r.blocked_count}</dd>
        <dt>per layer</dt>
        <dd>
          {layers.length === 0 ? (
            <span className="muted">no post-revocation action seen on any layer</span>
          ) : (
            <div className="stack" style={{ gap: 4 }} data-testid="revocation-layers">
              {layers.map(([layer, status]) => (
                <span key={layer} data-layer={layer} data-status={status}>
                  {layer} <LayerStatusBadge value={status} />
                  {r.propagation_ms[layer] !== undefined && <span className="faint"> · first blocked {formatDuration(r.propagation_ms[layer])} after the revocation</span>}
                </span>
              ))}
            </div>
          )}
        </dd>
        <dt>agents involved</dt>
        <dd>
          <LinkList ids={r.agents} render={(id) => <AgentLink id={id} />} />
        </dd>
        <dt>pipelines involved</dt>
        <dd>
          <LinkList ids={r.pipelines} render={(id) => <PipelineLink id={id} />} />
        </dd>
      </dl>
    </div>
  );
}

function LinkList({ ids, render }: { ids: string[]; render: (id: string) => ReactNode }) {
  if (!ids.length) return <span className="muted">none</span>;
  return (
    <div className="stack" style={{ gap: 2 }}>
      {ids.map((id) => (
        <span key={id}>{render(id)}</span>
      ))}
    </div>
  );
}

function AlertsCard({ r }: { r: RevocationDetail }) {
  const router = useRouter();
  return (
    <div className="card">
      <div className="card-head">
        <h2>Alerts</h2>
        <span className="muted" style={{ fontSize: 12.5 }}>raised by this revocation&apos;s post-revocation actions</span>
      </div>
      <DataTable
        label="Alerts of this revocation"
        testId="revocation-alerts"
        data={r.alerts}
        columns={alertsColumns}
        rowId={(a) => a.id}
        height={Math.min(240, Math.max(80, r.alerts.length * 34 + 8))}
        onRowClick={(a) => router.push(alertHref(a.id))}
        empty={<Empty title="No alerts" height={60} />}
      />
    </div>
  );
}

function ActionsCard({ revocationId }: { revocationId: string }) {
  const filters = useMemo(() => ({ revocation_id: revocationId }), [revocationId]);
  const query = usePostRevocationActions(filters, { limit: 500 });
  const pairs = useMemo(() => flattenPages(query.data), [query.data]);
  return (
    <div className="card">
      <div className="card-head">
        <h2>Post-revocation actions</h2>
        <span className="muted" style={{ fontSize: 12.5 }}>covered actions after the revocation, blocked or not</span>
        <div className="right">
          <Link className="btn btn-sm" href={investigateHref(filters)}>
            Open in Investigate →
          </Link>
        </div>
      </div>
      {query.isPending ? (
        <Loading height={240} />
      ) : query.error && !query.data ? (
        <ErrorState error={query.error} height={240} retry={() => void query.refetch()} />
      ) : (
        <DataTable
          label="Post-revocation actions"
          testId="revocation-actions"
          data={pairs}
          columns={actionColumns}
          rowId={(p) => p.event_id}
          rowClassName={pairRowClass}
          height={Math.min(420, Math.max(120, pairs.length * 34 + 8))}
          onEndReached={query.hasNextPage && !query.isFetchingNextPage ? () => void query.fetchNextPage() : undefined}
          empty={<Empty title="No post-revocation actions" height={100}>Nothing covered by this revocation acted after it.</Empty>}
          footer={
            <>
              <span>
                {pairs.length.toLocaleString("en-US")} row{pairs.length === 1 ? "" : "s"}
                {query.hasNextPage ? " loaded · scroll for more" : ""}
              </span>
              {query.isFetchingNextPage && <span className="faint">loading more…</span>}
            </>
          }
        />
      )}
    </div>
  );
}

export function RevocationDetailView({ eventId }: { eventId: string }) {
  const revocation = useRevocation(eventId);
  const r = revocation.data;
  if (!r) {
    if (revocation.error) return <ErrorState error={revocation.error} height={400} retry={() => void revocation.refetch()} />;
    return <Loading height={600} />;
  }
  return (
    <>
      <div className="crumbs">
        <Link href="/revocations">Revocations</Link> /
      </div>
      <div className="page-head">
        <div>
          <h1 data-testid="revocation-title">
            Revoked {r.scope} <span className="mono">{r.subject}</span>
          </h1>
          <div className="row sub" style={{ marginTop: 4 }}>
            <ContainmentBadge value={r.containment} />
            {r.reinstated_at ? <span className="badge badge-plain">reinstated</span> : <span className="badge badge-revoked">⊘ in force</span>}
            <Time value={r.time} />
            <span className="mono faint">{r.event_id}</span>
          </div>
        </div>
      </div>
      <div className="grid grid-main-side">
        <div className="stack">
          <ContainmentCard r={r} />
          <ActionsCard revocationId={r.event_id} />
          <AlertsCard r={r} />
        </div>
        <div className="stack">
          <FactsCard r={r} />
          <RevocationOriginCard revocation={r} />
          <NotifiedCard revocationId={r.event_id} />
        </div>
      </div>
    </>
  );
}
