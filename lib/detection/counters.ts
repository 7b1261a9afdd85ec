/**
 * From the per-(revocation, generation, agent, via, layer) counters that the pairs' materialized
 * view keeps (lib/store/migrations/020_coverage.sql) to a revocation's summary and alerts, with
 * the rules of docs/SEMANTICS.md points 7–8, which the test oracle (test/oracle/reference.ts)
 * applies to a full list of pairs. Reading counters costs per (agent, via, layer), never per pair.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows } from "../store/clickhouse";
import { alertId } from "./alert-id";
import { SAMPLE_EVENT_IDS, type AlertRule, type DerivedAlert, type LayerStatus, type RevocationInfo, type RevocationSummary, type Via } from "./types";

export interface CounterRow {
  revocation_id: string;
  generation: number;
  agent_id: string;
  via: Via;
  layer: string;
  violations: number;
  blocked: number;
  first_violation: string;
  last_violation: string;
  first_blocked: string;
  severe: number;
  /** (time, event_id, pipeline_id) of the earliest violation naming a pipeline; time 2299… when none. */
  first_pipeline: [string, string, string];
  pipelines: string[];
  /** Up to 10 earliest violations as (time, event_id). */
  samples: [string, string][];
}

/**
 * The counters of the given revocations in every generation they have; the caller keeps the
 * generation it reads from (lib/detection/state.ts, readGeneration). Asking by id alone lets
 * this read run beside the read of the revocations' states.
 */
export async function readCounters(client: ClickHouseClient, revocationIds: string[]): Promise<CounterRow[]> {
  if (revocationIds.length === 0) return [];
  const rows = await queryRows<CounterRow>(
    client,
    "detection:counters",
    `SELECT revocation_id, generation, agent_id, via, layer,
            sum(violations) AS violations, sum(blocked) AS blocked,
            min(first_violation) AS first_violation, max(last_violation) AS last_violation,
            min(first_blocked) AS first_blocked, max(severe) AS severe,
            min(first_pipeline) AS first_pipeline, groupUniqArrayArray(pipelines) AS pipelines,
            groupArraySortedMerge(10)(samples) AS samples
     FROM revocation_counters
     WHERE revocation_id IN {ids:Array(String)}
     GROUP BY revocation_id, generation, agent_id, via, layer`,
    { ids: revocationIds },
  );
  return rows.map((r) => ({ ...r, generation: Number(r.generation), violations: Number(r.violations), blocked: Number(r.blocked), severe: Number(r.severe) }));
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Per layer over the rows: leaking if any violation, else enforcing (keys sorted). */
function layerStatuses(rows: CounterRow[]): Record<string, LayerStatus> {
  const status = new Map<string, LayerStatus>();
  for (const r of rows) {
    if (r.violations > 0) status.set(r.layer, "leaking");
    else if (r.blocked > 0 && !status.has(r.layer)) status.set(r.layer, "enforcing");
  }
  return Object.fromEntries([...status.entries()].sort(([a], [b]) => byName(a, b)));
}

/** The counted violations of `rows` folded into one alert's figures. */
function foldViolations(rows: CounterRow[]) {
  const counted = rows.filter((r) => r.violations > 0);
  let first = "";
  let last = "";
  let pipelineKey: [string, string, string] | null = null;
  const samples: [string, string][] = [];
  for (const r of counted) {
    if (!first || r.first_violation < first) first = r.first_violation;
    if (!last || r.last_violation > last) last = r.last_violation;
    const p = r.first_pipeline;
    if (p[2] !== "" && (!pipelineKey || p[0] < pipelineKey[0] || (p[0] === pipelineKey[0] && p[1] < pipelineKey[1]))) pipelineKey = p;
    samples.push(...r.samples);
  }
  samples.sort((a, b) => byName(a[0], b[0]) || byName(a[1], b[1]));
  return {
    count: counted.reduce((n, r) => n + r.violations, 0),
    first,
    last,
    severe: counted.some((r) => r.severe > 0),
    pipeline: pipelineKey?.[2] ?? null,
    samples: samples.slice(0, SAMPLE_EVENT_IDS).map((s) => s[1]),
  };
}

function buildAlert(rule: AlertRule, rev: RevocationInfo, agentId: string | null, counted: CounterRow[], context: CounterRow[]): DerivedAlert {
  const v = foldViolations(counted);
  const statuses = layerStatuses(context);
  const layers = (s: LayerStatus) => Object.keys(statuses).filter((l) => statuses[l] === s);
  return {
    id: alertId(rule, rev.event_id, agentId),
    rule,
    severity: rule === "partial_containment" || v.severe ? "critical" : "high",
    revocation_id: rev.event_id,
    agent_id: agentId,
    pipeline_id: rev.scope === "pipeline" ? rev.subject : v.pipeline,
    layers_enforcing: layers("enforcing"),
    layers_leaking: layers("leaking"),
    violation_count: v.count,
    first_violation_at: v.first,
    last_violation_at: v.last,
    sample_event_ids: v.samples,
  };
}

export interface DerivedFromCounters {
  summary: RevocationSummary;
  alerts: DerivedAlert[];
  agents: string[];
  pipelines: string[];
}

/** Summary and alerts of one revocation from its counter rows (one generation). */
export function deriveFromCounters(rev: RevocationInfo, rows: CounterRow[]): DerivedFromCounters {
  const violations = rows.reduce((n, r) => n + r.violations, 0);
  const blocked = rows.reduce((n, r) => n + r.blocked, 0);
  const revokedAt = Date.parse(rev.time);
  const firstBlocked = new Map<string, string>();
  for (const r of rows) {
    if (r.blocked === 0) continue;
    const seen = firstBlocked.get(r.layer);
    if (!seen || r.first_blocked < seen) firstBlocked.set(r.layer, r.first_blocked);
  }
  const summary: RevocationSummary = {
    ...rev,
    containment: violations === 0 ? "contained" : blocked > 0 ? "partial" : "uncontained",
    layers: layerStatuses(rows),
    propagation_ms: Object.fromEntries(
      [...firstBlocked.entries()].sort(([a], [b]) => byName(a, b)).map(([layer, t]) => [layer, Date.parse(t) - revokedAt]),
    ),
    violation_count: violations,
    blocked_count: blocked,
  };
  const alerts: DerivedAlert[] = [];
  const byAgent = new Map<string, CounterRow[]>();
  for (const r of rows) byAgent.set(r.agent_id, [...(byAgent.get(r.agent_id) ?? []), r]);
  for (const [agent, agentRows] of byAgent) {
    const direct = agentRows.filter((r) => r.via === "direct" && r.violations > 0);
    const cascade = agentRows.filter((r) => r.via === "cascade" && r.violations > 0);
    if (direct.length) alerts.push(buildAlert("post_revocation_activity", rev, agent, direct, agentRows));
    if (cascade.length) alerts.push(buildAlert("delegated_authority_leak", rev, agent, cascade, agentRows));
  }
  if (summary.containment === "partial") alerts.push(buildAlert("partial_containment", rev, null, rows, rows));
  alerts.sort((a, b) => byName(a.id, b.id));
  return {
    summary,
    alerts,
    agents: [...byAgent.keys()].sort(byName),
    pipelines: [...new Set(rows.flatMap((r) => r.pipelines))].sort(byName),
  };
}
