/**
 * Reference implementation of detection (docs/SEMANTICS.md).
 *
 * Pure and in memory: it is the test oracle the ClickHouse engine is checked against,
 * so it favours being obviously right over being fast. Every step below names the
 * SEMANTICS.md point it implements. Nothing here depends on the order of the input,
 * except which payload wins when two different payloads share an event_id (point 9:
 * the last one given wins).
 */
import type { Decision, RevocationScope, StoredEvent } from "@/lib/events/schema";
import { alertId } from "@/lib/detection/alert-id";
import {
  SAMPLE_EVENT_IDS,
  type AlertSeverity,
  type Containment,
  type DerivedAlert,
  type DetectionResult,
  type DetectionSettings,
  type LayerStatus,
  type PostRevocationAction,
  type RevocationSummary,
  type Via,
} from "@/lib/detection/types";

// ---------------------------------------------------------------------------
// Fixture helper
// ---------------------------------------------------------------------------

/**
 * Builds a stored event row from the fields a test cares about; every other field gets
 * its empty default ('' for strings, decision 'unknown' for actions, rev_cascade true,
 * attributes {}, cred_expires_at null). Also exported from ./fixtures.
 */
export function makeEvent(partial: Partial<StoredEvent> & Pick<StoredEvent, "event_id" | "type" | "time">): StoredEvent {
  return {
    agent_id: "",
    pipeline_id: "",
    session_id: "",
    credential_id: "",
    layer: "",
    source: "",
    action: "",
    resource: "",
    decision: partial.type === "action" ? "unknown" : "",
    sensitivity: "",
    trace_id: "",
    span_id: "",
    rev_scope: "",
    rev_subject: "",
    rev_reason: "",
    rev_cascade: true,
    rev_initiated_by: "",
    cred_id: "",
    cred_kind: "",
    cred_parent_id: "",
    cred_expires_at: null,
    ...partial,
    attributes: { ...(partial.attributes ?? {}) },
  };
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/** Plain code-unit string order (never locale-dependent). */
function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parses event times, memoised (the same few thousand strings are compared many times). */
const parsedTimes = new Map<string, number>();
function ms(time: string): number {
  let t = parsedTimes.get(time);
  if (t === undefined) {
    t = Date.parse(time);
    if (parsedTimes.size > 100_000) parsedTimes.clear();
    parsedTimes.set(time, t);
  }
  return t;
}

/** Orders by event time (as an instant), then by the time text, then by event_id. */
function cmpTimeThenId(a: { time: string; event_id: string }, b: { time: string; event_id: string }): number {
  return ms(a.time) - ms(b.time) || cmpStr(a.time, b.time) || cmpStr(a.event_id, b.event_id);
}

/** Point 1: the per-layer override when one is configured for the layer, else the global grace. */
function graceMsFor(settings: DetectionSettings, layer: string): number {
  const overrides = settings.layerGraceMs;
  if (Object.prototype.hasOwnProperty.call(overrides, layer) && typeof overrides[layer] === "number") {
    return overrides[layer];
  }
  return settings.graceMs;
}

/** The event field a scope matches on (point 5). */
function scopeField(e: StoredEvent, scope: RevocationScope): string {
  switch (scope) {
    case "agent":
      return e.agent_id;
    case "session":
      return e.session_id;
    case "credential":
      return e.credential_id;
    case "pipeline":
      return e.pipeline_id;
  }
}

/** Point 6: allow / unknown (absent = unknown) is a violation, deny is a blocked attempt. */
function decisionOf(e: StoredEvent): Decision {
  return e.decision === "" ? "unknown" : e.decision;
}

function addTo(index: Map<string, Set<string>>, key: string, value: string): void {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  set.add(value);
}

/** Point 7, per layer: leaking if any violation, else enforcing (layers with no pairs are absent). */
function layerStatuses(pairs: PostRevocationAction[]): Map<string, LayerStatus> {
  const status = new Map<string, LayerStatus>();
  for (const p of pairs) {
    if (p.violation) status.set(p.layer, "leaking");
    else if (!status.has(p.layer)) status.set(p.layer, "enforcing");
  }
  return status;
}

/** Builds a record whose keys are inserted in alphabetical order (safe for any key, "__proto__" included). */
function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  return Object.fromEntries([...entries].sort((a, b) => cmpStr(a[0], b[0])));
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

export function evaluateReference(events: StoredEvent[], settings?: DetectionSettings): DetectionResult {
  const config: DetectionSettings = {
    graceMs: settings?.graceMs ?? 0,
    layerGraceMs: settings?.layerGraceMs ?? {},
  };

  // Point 9: one event per event_id, the last one given wins.
  const byId = new Map<string, StoredEvent>();
  for (const e of events) byId.set(e.event_id, e);
  const all = [...byId.values()];

  const actions = all.filter((e) => e.type === "action");
  const revocations = all.filter((e) => e.type === "revocation");
  const reinstatements = all.filter((e) => e.type === "reinstatement");

  // Point 3: credentials issued to or presented by each agent / session / pipeline,
  // from every event ever ingested, whatever its time.
  const credsBy: Record<"agent" | "session" | "pipeline", Map<string, Set<string>>> = {
    agent: new Map(),
    session: new Map(),
    pipeline: new Map(),
  };
  for (const e of all) {
    const creds: string[] = [];
    if (e.credential_id !== "") creds.push(e.credential_id);
    if (e.type === "credential_issued" && e.cred_id !== "") creds.push(e.cred_id);
    for (const cred of creds) {
      if (e.agent_id !== "") addTo(credsBy.agent, e.agent_id, cred);
      if (e.session_id !== "") addTo(credsBy.session, e.session_id, cred);
      if (e.pipeline_id !== "") addTo(credsBy.pipeline, e.pipeline_id, cred);
    }
  }

  // Point 4: parent → children edges from credential_issued events.
  const childrenOf = new Map<string, Set<string>>();
  for (const e of all) {
    if (e.type === "credential_issued" && e.cred_id !== "" && e.cred_parent_id !== "") {
      addTo(childrenOf, e.cred_parent_id, e.cred_id);
    }
  }

  function rootSet(scope: RevocationScope, subject: string): Set<string> {
    if (scope === "credential") return new Set([subject]);
    return new Set(credsBy[scope].get(subject) ?? []);
  }

  /** Root set plus every descendant through parent_id links, any depth, cycles tolerated. */
  function coveredCredentials(scope: RevocationScope, subject: string): Set<string> {
    const covered = rootSet(scope, subject);
    const queue = [...covered];
    while (queue.length > 0) {
      const cred = queue.shift()!;
      for (const child of childrenOf.get(cred) ?? []) {
        if (!covered.has(child)) {
          covered.add(child);
          queue.push(child);
        }
      }
    }
    return covered;
  }

  const pairs: PostRevocationAction[] = [];
  const revocationSummaries: RevocationSummary[] = [];
  const alerts: DerivedAlert[] = [];

  for (const v of revocations) {
    if (v.rev_scope === "") continue; // not a valid revocation row; schema v1 never stores one
    const scope = v.rev_scope;
    const subject = v.rev_subject;
    const R = ms(v.time);

    // Point 1: L = first reinstatement of the same scope and subject strictly after R.
    const laterReinstatements = reinstatements
      .filter((x) => x.rev_scope === scope && x.rev_subject === subject && ms(x.time) > R)
      .sort(cmpTimeThenId);
    const reinstatedAt = laterReinstatements.length > 0 ? laterReinstatements[0].time : null;
    const L = reinstatedAt === null ? Infinity : ms(reinstatedAt);

    // Point 4: with cascade off the covered set is the root set only (no descendants); a root
    // credential presented elsewhere (a copied secret) is still covered, through cascade.
    const covered = v.rev_cascade ? coveredCredentials(scope, subject) : rootSet(scope, subject);

    const vPairs: PostRevocationAction[] = [];
    for (const a of actions) {
      // Point 5: direct, else cascade through a covered credential.
      let via: Via | null = null;
      if (scopeField(a, scope) === subject) via = "direct";
      else if (a.credential_id !== "" && covered.has(a.credential_id)) via = "cascade";
      if (via === null) continue;

      // Point 1: window (R + grace(layer), L].
      const t = ms(a.time);
      if (!(t > R + graceMsFor(config, a.layer) && t <= L)) continue;

      const decision = decisionOf(a);
      vPairs.push({
        event_id: a.event_id,
        revocation_id: v.event_id,
        violation: decision !== "deny",
        via,
        time: a.time,
        agent_id: a.agent_id,
        pipeline_id: a.pipeline_id,
        session_id: a.session_id,
        credential_id: a.credential_id,
        layer: a.layer,
        action: a.action,
        resource: a.resource,
        decision,
        sensitivity: a.sensitivity,
      });
    }
    vPairs.sort(cmpTimeThenId);
    pairs.push(...vPairs);

    // Point 7: containment, per-layer status and propagation delay.
    const violations = vPairs.filter((p) => p.violation);
    const blocked = vPairs.filter((p) => !p.violation);
    const containment: Containment =
      violations.length === 0 ? "contained" : blocked.length > 0 ? "partial" : "uncontained";
    const firstBlockByLayer = new Map<string, number>();
    for (const p of blocked) {
      const t = ms(p.time);
      const prev = firstBlockByLayer.get(p.layer);
      if (prev === undefined || t < prev) firstBlockByLayer.set(p.layer, t);
    }
    revocationSummaries.push({
      event_id: v.event_id,
      time: v.time,
      scope,
      subject,
      cascade: v.rev_cascade,
      reason: v.rev_reason,
      initiated_by: v.rev_initiated_by,
      reinstated_at: reinstatedAt,
      containment,
      layers: sortedRecord(layerStatuses(vPairs)),
      propagation_ms: sortedRecord([...firstBlockByLayer].map(([layer, t]): [string, number] => [layer, t - R])),
      violation_count: violations.length,
      blocked_count: blocked.length,
    });

    // Point 8: alerts.
    const pipelineFor = (counted: PostRevocationAction[]): string | null => {
      if (scope === "pipeline") return subject;
      return counted.find((p) => p.pipeline_id !== "")?.pipeline_id ?? null;
    };
    const makeAlert = (
      rule: DerivedAlert["rule"],
      agent: string | null,
      counted: PostRevocationAction[], // violations, sorted by (time, event_id)
      layerPairs: PostRevocationAction[],
    ): DerivedAlert => {
      const status = layerStatuses(layerPairs);
      const layersWith = (s: LayerStatus) => [...status].filter(([, x]) => x === s).map(([l]) => l).sort(cmpStr);
      return {
        id: alertId(rule, v.event_id, agent),
        rule,
        severity: rule === "partial_containment" ? "critical" : severityOf(counted),
        revocation_id: v.event_id,
        agent_id: agent,
        pipeline_id: pipelineFor(counted),
        layers_enforcing: layersWith("enforcing"),
        layers_leaking: layersWith("leaking"),
        violation_count: counted.length,
        first_violation_at: counted[0].time,
        last_violation_at: counted[counted.length - 1].time,
        sample_event_ids: counted.slice(0, SAMPLE_EVENT_IDS).map((p) => p.event_id),
      };
    };

    const pairsByAgent = new Map<string, PostRevocationAction[]>();
    for (const p of vPairs) {
      const list = pairsByAgent.get(p.agent_id) ?? [];
      list.push(p);
      pairsByAgent.set(p.agent_id, list);
    }
    for (const [agent, agentPairs] of pairsByAgent) {
      const direct = agentPairs.filter((p) => p.violation && p.via === "direct");
      const cascade = agentPairs.filter((p) => p.violation && p.via === "cascade");
      if (direct.length > 0) alerts.push(makeAlert("post_revocation_activity", agent, direct, agentPairs));
      if (cascade.length > 0) alerts.push(makeAlert("delegated_authority_leak", agent, cascade, agentPairs));
    }
    if (containment === "partial") alerts.push(makeAlert("partial_containment", null, violations, vPairs));
  }

  pairs.sort((a, b) => cmpStr(a.revocation_id, b.revocation_id) || cmpTimeThenId(a, b));
  revocationSummaries.sort(cmpTimeThenId);
  alerts.sort((a, b) => cmpStr(a.id, b.id));
  return { pairs, revocations: revocationSummaries, alerts };
}

/** Point 8: critical when a counted violation touched a high/critical resource or a secret.* / data.export action. */
function severityOf(counted: PostRevocationAction[]): AlertSeverity {
  const critical = counted.some(
    (p) =>
      p.sensitivity === "high" ||
      p.sensitivity === "critical" ||
      p.action.startsWith("secret.") ||
      p.action === "data.export",
  );
  return critical ? "critical" : "high";
}
