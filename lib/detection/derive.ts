/**
 * From one revocation's post-revocation actions to its summary and alerts
 * (docs/SEMANTICS.md points 7–8). Pure: the ClickHouse engine finds the pairs, this turns
 * them into containment and alerts. The reference implementation derives the same
 * independently, and the tests compare the two.
 */
import { alertId } from "./alert-id";
import {
  SAMPLE_EVENT_IDS,
  type AlertRule,
  type Containment,
  type DerivedAlert,
  type LayerStatus,
  type PostRevocationAction,
  type RevocationSummary,
} from "./types";

export interface RevocationInfo {
  event_id: string;
  time: string;
  scope: RevocationSummary["scope"];
  subject: string;
  cascade: boolean;
  reason: string;
  initiated_by: string;
  reinstated_at: string | null;
}

const byTimeThenId = (a: PostRevocationAction, b: PostRevocationAction) =>
  a.time < b.time ? -1 : a.time > b.time ? 1 : a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0;

export function containmentOf(pairs: PostRevocationAction[]): Containment {
  const violations = pairs.some((p) => p.violation);
  const blocked = pairs.some((p) => !p.violation);
  return !violations ? "contained" : blocked ? "partial" : "uncontained";
}

/** Per layer: leaking if any violation, else enforcing; keys in alphabetical order. */
export function layerStatuses(pairs: PostRevocationAction[]): Record<string, LayerStatus> {
  const status = new Map<string, LayerStatus>();
  for (const p of pairs) {
    if (p.violation) status.set(p.layer, "leaking");
    else if (!status.has(p.layer)) status.set(p.layer, "enforcing");
  }
  return Object.fromEntries([...status.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}

export function summarise(rev: RevocationInfo, pairs: PostRevocationAction[]): RevocationSummary {
  const revokedAt = Date.parse(rev.time);
  const firstBlocked = new Map<string, number>();
  for (const p of pairs) {
    if (p.violation) continue;
    const t = Date.parse(p.time);
    if (!firstBlocked.has(p.layer) || t < firstBlocked.get(p.layer)!) firstBlocked.set(p.layer, t);
  }
  const propagation = Object.fromEntries(
    [...firstBlocked.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([layer, t]) => [layer, t - revokedAt]),
  );
  const violations = pairs.filter((p) => p.violation).length;
  return {
    ...rev,
    containment: containmentOf(pairs),
    layers: layerStatuses(pairs),
    propagation_ms: propagation,
    violation_count: violations,
    blocked_count: pairs.length - violations,
  };
}

function isSevere(p: PostRevocationAction): boolean {
  return p.sensitivity === "high" || p.sensitivity === "critical" || p.action.startsWith("secret.") || p.action === "data.export";
}

function buildAlert(
  rule: AlertRule,
  rev: RevocationInfo,
  agentId: string | null,
  counted: PostRevocationAction[],
  context: PostRevocationAction[],
): DerivedAlert {
  const sorted = [...counted].sort(byTimeThenId);
  const statuses = layerStatuses(context);
  const layers = (s: LayerStatus) => Object.keys(statuses).filter((l) => statuses[l] === s);
  const pipeline = rev.scope === "pipeline" ? rev.subject : (sorted.find((p) => p.pipeline_id !== "")?.pipeline_id ?? null);
  return {
    id: alertId(rule, rev.event_id, agentId),
    rule,
    severity: rule === "partial_containment" || sorted.some(isSevere) ? "critical" : "high",
    revocation_id: rev.event_id,
    agent_id: agentId,
    pipeline_id: pipeline,
    layers_enforcing: layers("enforcing"),
    layers_leaking: layers("leaking"),
    violation_count: sorted.length,
    first_violation_at: sorted[0].time,
    last_violation_at: sorted[sorted.length - 1].time,
    sample_event_ids: sorted.slice(0, SAMPLE_EVENT_IDS).map((p) => p.event_id),
  };
}

/** The alerts one revocation raises, sorted by id. */
export function deriveAlerts(rev: RevocationInfo, pairs: PostRevocationAction[]): DerivedAlert[] {
  const alerts: DerivedAlert[] = [];
  const byAgent = new Map<string, PostRevocationAction[]>();
  for (const p of pairs) {
    const list = byAgent.get(p.agent_id) ?? [];
    list.push(p);
    byAgent.set(p.agent_id, list);
  }
  for (const [agent, agentPairs] of byAgent) {
    const direct = agentPairs.filter((p) => p.violation && p.via === "direct");
    const cascade = agentPairs.filter((p) => p.violation && p.via === "cascade");
    if (direct.length) alerts.push(buildAlert("post_revocation_activity", rev, agent, direct, agentPairs));
    if (cascade.length) alerts.push(buildAlert("delegated_authority_leak", rev, agent, cascade, agentPairs));
  }
  if (containmentOf(pairs) === "partial") {
    alerts.push(buildAlert("partial_containment", rev, null, pairs.filter((p) => p.violation), pairs));
  }
  return alerts.sort((a, b) => (a.id < b.id ? -1 : 1));
}
