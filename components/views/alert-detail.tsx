"use client";
import Link from "next/link";
import { useMemo, useState } from "react";
import { useAlert, useUpdateAlert } from "@/components/data/alerts";
import { usePostRevocationActions } from "@/components/data/investigate";
import { flattenPages } from "@/components/data/query";
import { useRevocation } from "@/components/data/revocations";
import { useRoleAtLeast } from "@/components/data/session";
import type { AlertHistoryEntry, AlertStatus } from "@/components/data/types";
import { ApiClientError } from "@/components/data/api";
import { ContainmentBadge, LayerStatusBadge, RULE_LABEL, SeverityBadge, StatusBadge } from "@/components/ui/badges";
import { DataTable } from "@/components/ui/data-table";
import { AgentLink, PipelineLink, RevocationLink, agentHref, investigateHref, revocationHref } from "@/components/ui/links";
import { Empty, ErrorState, Loading } from "@/components/ui/states";
import { Time, formatDuration } from "@/components/ui/time";
import { NotifiedCard } from "./notified";
import { pairColumns, pairRowClass } from "./pair-columns";

const MARGIN_MS = 2 * 60_000;
/** The alert names the revocation (and usually the agent): the evidence table leaves them out. */
const evidenceColumns = pairColumns.filter((c) => !["revocation_id", "session_id", "event_id"].includes(c.id ?? ""));
const evidenceColumnsOneAgent = evidenceColumns.filter((c) => c.id !== "agent_id");

/** Newest first; a run of detection "updated" entries (each new violation) folds into one line. */
function groupHistory(history: AlertHistoryEntry[]): { entry: AlertHistoryEntry; repeats: number }[] {
  const out: { entry: AlertHistoryEntry; repeats: number }[] = [];
  for (const h of [...history].reverse()) {
    const last = out[out.length - 1];
    if (last && h.kind === "updated" && last.entry.kind === "updated" && !h.comment && !last.entry.comment) last.repeats++;
    else out.push({ entry: h, repeats: 1 });
  }
  return out;
}

/**
 * The pairs an alert counts (docs/SEMANTICS.md, point 8): post_revocation_activity the agent's
 * direct ones, delegated_authority_leak its cascade ones; partial_containment the revocation's.
 */
function viaOfRule(rule: string): { via?: "direct" | "cascade" } {
  if (rule === "post_revocation_activity") return { via: "direct" };
  if (rule === "delegated_authority_leak") return { via: "cascade" };
  return {};
}

export function AlertDetailView({ alertId }: { alertId: string }) {
  const alert = useAlert(alertId);
  const a = alert.data;
  const revocation = useRevocation(a?.revocation_id);
  const evidenceFilters = useMemo(() => (a ? { revocation_id: a.revocation_id, ...(a.agent_id ? { agent_id: a.agent_id } : {}), ...viaOfRule(a.rule) } : {}), [a]);
  const evidence = usePostRevocationActions(evidenceFilters, { enabled: !!a, limit: 500 });
  const pairs = useMemo(() => flattenPages(evidence.data), [evidence.data]);
  const update = useUpdateAlert(alertId);
  // Offered only to roles the server lets change alerts (docs/ROLES.md); unknown yet: offered.
  const mayTriage = useRoleAtLeast("analyst");
  const [comment, setComment] = useState("");

  if (!a) {
    if (alert.error) return <ErrorState error={alert.error} height={400} retry={() => void alert.refetch()} />;
    return <Loading height={600} />;
  }

  const r = revocation.data;
  const start = Math.min(Date.parse(a.first_violation_at), r ? Date.parse(r.time) : Infinity) - MARGIN_MS;
  const end = Date.parse(a.last_violation_at) + MARGIN_MS;
  const windowParams = { from: new Date(start).toISOString(), to: new Date(end).toISOString(), at: a.first_violation_at };
  const agentsForLink = a.agent_id ? [a.agent_id] : [...new Set(pairs.filter((p) => p.violation).map((p) => p.agent_id))];
  const change = (status: AlertStatus) =>
    update.mutate({ status, comment: comment.trim() || undefined }, { onSuccess: () => setComment("") });
  const updateError = update.error instanceof ApiClientError ? update.error : null;

  return (
    <>
      <div className="crumbs">
        <Link href="/alerts">Alerts</Link> /
      </div>
      <div className="page-head">
        <div>
          <h1>{RULE_LABEL[a.rule] ?? a.rule}</h1>
          <div className="row sub" style={{ marginTop: 4 }}>
            <SeverityBadge value={a.severity} />
            <span data-testid="alert-status">
              <StatusBadge value={a.status} />
            </span>
            {a.reopened && a.status === "open" && <span className="badge badge-status-open">re-opened by new violations</span>}
            <span className="mono faint">{a.id}</span>
          </div>
        </div>
        <div className="page-head-actions">
          {agentsForLink.map((ag) => (
            <Link key={ag} className="btn btn-primary" href={agentHref(ag, windowParams)} data-testid="timeline-link">
              Open {agentsForLink.length > 1 ? `${ag}'s ` : ""}timeline at the violation →
            </Link>
          ))}
        </div>
      </div>

      <div className="grid grid-main-side">
        <div className="stack">
          <div className="card">
            <div className="card-head">
              <h2>What happened</h2>
            </div>
            <dl className="kv">
              <dt>agent</dt>
              <dd>{a.agent_id ? <AgentLink id={a.agent_id} /> : <span className="muted">all agents of the revocation</span>}</dd>
              <dt>pipeline</dt>
              <dd>
                <PipelineLink id={a.pipeline_id} />
              </dd>
              <dt>violations</dt>
              <dd style={{ color: "var(--violation)" }}>▲ {a.violation_count}</dd>
              <dt>first violation</dt>
              <dd>
                <Time value={a.first_violation_at} />
              </dd>
              <dt>last violation</dt>
              <dd>
                <Time value={a.last_violation_at} />
              </dd>
              <dt>layers leaking</dt>
              <dd>
                <div className="chips">
                  {a.layers_leaking.length ? a.layers_leaking.map((l) => <span key={l}><span className="mono">{l}</span> <LayerStatusBadge value="leaking" /></span>) : "—"}
                </div>
              </dd>
              <dt>layers enforcing</dt>
              <dd>
                <div className="chips">
                  {a.layers_enforcing.length ? a.layers_enforcing.map((l) => <span key={l}><span className="mono">{l}</span> <LayerStatusBadge value="enforcing" /></span>) : "—"}
                </div>
              </dd>
              <dt>raised</dt>
              <dd>
                <Time value={a.created_at} />
              </dd>
              <dt>updated</dt>
              <dd>
                <Time value={a.updated_at} />
              </dd>
            </dl>
          </div>
          <div className="card">
            <div className="card-head">
              <h2>Evidence</h2>
              <span className="muted" style={{ fontSize: 12.5 }}>
                post-revocation actions of this revocation{a.agent_id ? " and agent" : ""}
                {"via" in evidenceFilters ? ` covered ${evidenceFilters.via === "direct" ? "directly" : "through cascade"} (what this rule counts)` : ""}
              </span>
              <div className="right">
                <Link className="btn btn-sm" href={investigateHref({ ...evidenceFilters })}>
                  Open in Investigate →
                </Link>
              </div>
            </div>
            {evidence.isPending ? (
              <Loading height={240} />
            ) : evidence.error && !evidence.data ? (
              <ErrorState error={evidence.error} height={240} />
            ) : (
              <DataTable
                label="Evidence"
                testId="evidence-table"
                data={pairs}
                columns={a.agent_id ? evidenceColumnsOneAgent : evidenceColumns}
                rowId={(p) => `${p.event_id}:${p.revocation_id}`}
                rowClassName={pairRowClass}
                height={Math.min(380, Math.max(120, pairs.length * 34 + 8))}
                empty={<Empty title="No post-revocation actions (withdrawn?)" height={100} />}
                onEndReached={evidence.hasNextPage && !evidence.isFetchingNextPage ? () => void evidence.fetchNextPage() : undefined}
                footer={
                  <span>
                    {pairs.length} rows{evidence.hasNextPage ? " loaded (scroll for more)" : ""} · ▲ {pairs.filter((p) => p.violation).length} violations · ■{" "}
                    {pairs.filter((p) => !p.violation).length} blocked
                  </span>
                }
              />
            )}
          </div>
        </div>
        <div className="stack">
          <div className="card">
            <div className="card-head">
              <h2>Triage</h2>
            </div>
            <label className="field" style={{ marginBottom: 8 }}>
              <span>Comment (kept in the alert&apos;s history)</span>
              <textarea value={comment} onChange={(e) => setComment(e.target.value)} placeholder="What you checked, who you told…" data-testid="alert-comment" />
            </label>
            <div className="row">
              <button type="button" className="btn btn-warn" disabled={mayTriage === false || update.isPending || a.status === "acknowledged"} onClick={() => change("acknowledged")}>
                ✓ Acknowledge
              </button>
              <button type="button" className="btn btn-ok" disabled={mayTriage === false || update.isPending || a.status === "resolved"} onClick={() => change("resolved")}>
                ✔✔ Resolve
              </button>
              <button type="button" className="btn" disabled={mayTriage === false || update.isPending || a.status === "open"} onClick={() => change("open")}>
                Re-open
              </button>
              {update.isPending && <span className="faint">saving…</span>}
              {mayTriage === false && (
                <span className="faint" data-testid="triage-needs-role">
                  Changing an alert needs the analyst role.
                </span>
              )}
            </div>
            {update.error ? (
              <div className="state state-error" style={{ marginTop: 8 }} role="alert">
                {updateError?.forbidden ? "Your role cannot change alerts (analyst or above)." : (update.error as Error).message}
              </div>
            ) : null}
          </div>
          <NotifiedCard revocationId={a.revocation_id} />
          <div className="card">
            <div className="card-head">
              <h2>Revocation</h2>
              <div className="right">
                <Link className="btn btn-sm" href={revocationHref(a.revocation_id)} data-testid="revocation-page-link">
                  Open revocation →
                </Link>
              </div>
            </div>
            {!r ? (
              revocation.error ? <ErrorState error={revocation.error} height={120} /> : <Loading height={120} />
            ) : (
              <dl className="kv">
                <dt>event</dt>
                <dd>
                  <RevocationLink id={r.event_id} />
                </dd>
                <dt>time</dt>
                <dd>
                  <Time value={r.time} />
                </dd>
                <dt>scope</dt>
                <dd>
                  {r.scope}: {r.subject}
                </dd>
                <dt>cascade</dt>
                <dd>{r.cascade ? "yes" : "no"}</dd>
                {r.reason && (
                  <>
                    <dt>reason</dt>
                    <dd>{r.reason}</dd>
                  </>
                )}
                {r.initiated_by && (
                  <>
                    <dt>initiated by</dt>
                    <dd>{r.initiated_by}</dd>
                  </>
                )}
                {r.source && (
                  <>
                    <dt>source</dt>
                    {/* The SET itself (claims, raw JWT) is on the revocation's page, under Origin. */}
                    <dd data-testid="revocation-source">
                      SSF stream {r.source.stream_name || r.source.stream_id}, jti <span className="mono">{r.source.jti}</span>{" "}
                      <Link href={revocationHref(r.event_id)} prefetch={false} className="muted">
                        (the SET as received)
                      </Link>
                    </dd>
                  </>
                )}
                <dt>reinstated</dt>
                <dd>{r.reinstated_at ? <Time value={r.reinstated_at} /> : "—"}</dd>
                <dt>containment</dt>
                <dd>
                  <ContainmentBadge value={r.containment} />
                </dd>
                <dt>per layer</dt>
                <dd>
                  <div className="stack" style={{ gap: 4 }}>
                    {Object.entries(r.layers).map(([l, s]) => (
                      <span key={l}>
                        {l} <LayerStatusBadge value={s} />
                        {r.propagation_ms[l] !== undefined && <span className="faint"> · blocked after {formatDuration(r.propagation_ms[l])}</span>}
                      </span>
                    ))}
                  </div>
                </dd>
              </dl>
            )}
          </div>
          <div className="card">
            <div className="card-head">
              <h2>History</h2>
            </div>
            {a.history.length === 0 ? (
              <Empty title="No history" height={80} />
            ) : (
              <ol className="history" data-testid="alert-history">
                {groupHistory(a.history).map(({ entry: h, repeats }) => (
                  <li key={`${h.at}-${h.seq}`}>
                    <Time value={h.at} />
                    <div>
                      <strong>{h.kind}</strong>
                      {repeats > 1 ? <span className="muted"> ×{repeats} (new violations, now {h.violation_count})</span> : null}{" "}
                      {h.from_status && h.from_status !== h.to_status ? (
                        <span className="muted">
                          {h.from_status} → {h.to_status}
                        </span>
                      ) : null}{" "}
                      <span className="faint">by {h.actor}</span>
                      {h.comment && <div className="comment">{h.comment}</div>}
                    </div>
                  </li>
                ))}
              </ol>
            )}
          </div>
        </div>
      </div>
    </>
  );
}
