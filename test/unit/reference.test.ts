import { describe, expect, it } from "vitest";
import type { RevocationScope, StoredEvent } from "@/lib/events/schema";
import { alertId } from "@/lib/detection/alert-id";
import { evaluateReference, makeEvent } from "../oracle/reference";
import type { DetectionResult, DetectionSettings } from "@/lib/detection/types";

// ---------------------------------------------------------------------------
// Fixture builders: times are offsets in ms from T0.
// ---------------------------------------------------------------------------

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();
const R = 60_000; // the usual revocation time in these fixtures

function act(event_id: string, offset: number, fields: Partial<StoredEvent> = {}): StoredEvent {
  return makeEvent({ event_id, type: "action", time: at(offset), agent_id: "agent-a", layer: "gateway", action: "http.request", decision: "allow", ...fields });
}

function rev(event_id: string, offset: number, scope: RevocationScope, subject: string, fields: Partial<StoredEvent> = {}): StoredEvent {
  return makeEvent({ event_id, type: "revocation", time: at(offset), rev_scope: scope, rev_subject: subject, ...fields });
}

function reinstate(event_id: string, offset: number, scope: RevocationScope, subject: string): StoredEvent {
  return makeEvent({ event_id, type: "reinstatement", time: at(offset), rev_scope: scope, rev_subject: subject });
}

function issue(event_id: string, offset: number, agent_id: string, cred_id: string, cred_parent_id = "", fields: Partial<StoredEvent> = {}): StoredEvent {
  return makeEvent({ event_id, type: "credential_issued", time: at(offset), agent_id, cred_id, cred_parent_id, ...fields });
}

const pairIds = (r: DetectionResult) => r.pairs.map((p) => `${p.revocation_id}:${p.event_id}`);
const pairOf = (r: DetectionResult, eventId: string) => r.pairs.filter((p) => p.event_id === eventId);
const summary = (r: DetectionResult, revId: string) => {
  const s = r.revocations.find((x) => x.event_id === revId);
  if (!s) throw new Error(`no summary for ${revId}`);
  return s;
};
const alertsOf = (r: DetectionResult, rule: string) => r.alerts.filter((a) => a.rule === rule);

/** Deterministic PRNG (mulberry32) so shuffles are reproducible. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  const rand = rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ---------------------------------------------------------------------------

describe("makeEvent", () => {
  it("fills every field with its empty default", () => {
    const e = makeEvent({ event_id: "x", type: "revocation", time: at(0) });
    expect(e).toEqual({
      event_id: "x",
      type: "revocation",
      time: "2026-01-01T00:00:00.000Z",
      agent_id: "",
      pipeline_id: "",
      session_id: "",
      credential_id: "",
      layer: "",
      source: "",
      action: "",
      resource: "",
      decision: "",
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
      attributes: {},
    });
  });

  it("defaults an action's decision to unknown and keeps given fields", () => {
    expect(makeEvent({ event_id: "a", type: "action", time: at(0) }).decision).toBe("unknown");
    expect(makeEvent({ event_id: "a", type: "action", time: at(0), decision: "deny" }).decision).toBe("deny");
    expect(makeEvent({ event_id: "a", type: "action", time: at(0), attributes: { k: "v" } }).attributes).toEqual({ k: "v" });
  });
});

describe("direct coverage, per scope", () => {
  it("agent scope covers the agent's actions and no other agent's", () => {
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a"),
      act("a1", R + 10, { agent_id: "agent-a", credential_id: "ca" }),
      act("b1", R + 10, { agent_id: "agent-b", credential_id: "cb" }),
    ]);
    expect(pairIds(r)).toEqual(["v:a1"]);
    expect(r.pairs[0].via).toBe("direct");
  });

  it("session scope covers the session's actions and leaves other sessions with other credentials alone", () => {
    const r = evaluateReference([
      rev("v", R, "session", "s1"),
      act("in-s1", R + 10, { session_id: "s1", credential_id: "c1" }),
      act("in-s2", R + 10, { session_id: "s2", credential_id: "c2" }),
      act("same-agent-s3", R + 10, { session_id: "s3", credential_id: "c3" }),
    ]);
    expect(pairIds(r)).toEqual(["v:in-s1"]);
    expect(r.pairs[0].via).toBe("direct");
  });

  it("credential scope covers actions presenting the credential, whoever presents it", () => {
    const r = evaluateReference([
      rev("v", R, "credential", "c1"),
      act("a1", R + 10, { agent_id: "agent-a", credential_id: "c1" }),
      act("b1", R + 20, { agent_id: "agent-b", credential_id: "c1" }),
      act("a2", R + 30, { agent_id: "agent-a", credential_id: "c2" }),
    ]);
    expect(pairIds(r)).toEqual(["v:a1", "v:b1"]);
    expect(r.pairs.every((p) => p.via === "direct")).toBe(true);
  });

  it("pipeline scope covers the pipeline's actions and no other pipeline's", () => {
    const r = evaluateReference([
      rev("v", R, "pipeline", "p1"),
      act("a1", R + 10, { agent_id: "agent-a", pipeline_id: "p1", credential_id: "ca" }),
      act("b1", R + 10, { agent_id: "agent-b", pipeline_id: "p1", credential_id: "cb" }),
      act("c1", R + 10, { agent_id: "agent-c", pipeline_id: "p2", credential_id: "cc" }),
    ]);
    expect(pairIds(r)).toEqual(["v:a1", "v:b1"]);
    expect(r.pairs.every((p) => p.via === "direct")).toBe(true);
  });

  it("a pair carries the action's fields, its revocation and the violation flag", () => {
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a"),
      act("a1", R + 5, {
        pipeline_id: "p1",
        session_id: "s1",
        credential_id: "c1",
        layer: "tool",
        action: "execute_tool",
        resource: "search",
        decision: "unknown",
        sensitivity: "medium",
      }),
    ]);
    expect(r.pairs).toEqual([
      {
        event_id: "a1",
        revocation_id: "v",
        violation: true,
        via: "direct",
        time: at(R + 5),
        agent_id: "agent-a",
        pipeline_id: "p1",
        session_id: "s1",
        credential_id: "c1",
        layer: "tool",
        action: "execute_tool",
        resource: "search",
        decision: "unknown",
        sensitivity: "medium",
      },
    ]);
  });

  it("only actions are post-revocation activity (not sessions or issuances)", () => {
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a"),
      makeEvent({ event_id: "ss", type: "session_start", time: at(R + 1), agent_id: "agent-a", session_id: "s1" }),
      issue("ci", R + 2, "agent-a", "c9"),
    ]);
    expect(r.pairs).toEqual([]);
  });
});

describe("window bounds", () => {
  it("an action at exactly R is not covered, at R+1ms it is, before R it is not", () => {
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a"),
      act("before", R - 1),
      act("at-r", R),
      act("r-plus-1", R + 1),
    ]);
    expect(pairIds(r)).toEqual(["v:r-plus-1"]);
  });

  it("a reinstatement ends the window: exactly L is covered, L+1ms is not", () => {
    const L = R + 10_000;
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a"),
      reinstate("back", L, "agent", "agent-a"),
      act("mid", R + 5_000),
      act("at-l", L),
      act("l-plus-1", L + 1),
      act("much-later", L + 3_600_000),
    ]);
    expect(pairIds(r)).toEqual(["v:mid", "v:at-l"]);
    expect(summary(r, "v").reinstated_at).toBe(at(L));
  });

  it("the first reinstatement after R ends the window", () => {
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a"),
      reinstate("back2", R + 20_000, "agent", "agent-a"),
      reinstate("back1", R + 10_000, "agent", "agent-a"),
      act("x", R + 15_000),
    ]);
    expect(r.pairs).toEqual([]);
    expect(summary(r, "v").reinstated_at).toBe(at(R + 10_000));
  });

  it("a reinstatement before or at R is ignored", () => {
    const r = evaluateReference([
      reinstate("early", R - 1_000, "agent", "agent-a"),
      reinstate("same-ms", R, "agent", "agent-a"),
      rev("v", R, "agent", "agent-a"),
      act("x", R + 3_600_000),
    ]);
    expect(pairIds(r)).toEqual(["v:x"]);
    expect(summary(r, "v").reinstated_at).toBeNull();
  });

  it("a reinstatement of another subject or another scope does not end the window", () => {
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a"),
      reinstate("other-subject", R + 10, "agent", "agent-b"),
      reinstate("other-scope", R + 10, "session", "agent-a"),
      act("x", R + 100),
    ]);
    expect(pairIds(r)).toEqual(["v:x"]);
    expect(summary(r, "v").reinstated_at).toBeNull();
  });

  it("global grace moves the lower bound: R+grace is not covered, R+grace+1ms is", () => {
    const settings: DetectionSettings = { graceMs: 1_000, layerGraceMs: {} };
    const r = evaluateReference([rev("v", R, "agent", "agent-a"), act("in-grace", R + 500), act("at-grace", R + 1_000), act("after", R + 1_001)], settings);
    expect(pairIds(r)).toEqual(["v:after"]);
    // Default grace is 0.
    expect(pairIds(evaluateReference([rev("v", R, "agent", "agent-a"), act("x", R + 1)]))).toEqual(["v:x"]);
  });

  it("a per-layer grace overrides the global grace for that layer only (0 included)", () => {
    const settings: DetectionSettings = { graceMs: 1_000, layerGraceMs: { saas: 5_000, runtime: 0 } };
    const r = evaluateReference(
      [
        rev("v", R, "agent", "agent-a"),
        act("saas-3s", R + 3_000, { layer: "saas" }),
        act("saas-5s", R + 5_000, { layer: "saas" }),
        act("saas-5s1", R + 5_001, { layer: "saas" }),
        act("gw-3s", R + 3_000, { layer: "gateway" }),
        act("gw-1s", R + 1_000, { layer: "gateway" }),
        act("rt-1ms", R + 1, { layer: "runtime" }),
      ],
      settings,
    );
    expect(pairIds(r).sort()).toEqual(["v:gw-3s", "v:rt-1ms", "v:saas-5s1"]);
  });

  it("propagation delay is measured from R, not from R+grace", () => {
    const r = evaluateReference([rev("v", R, "agent", "agent-a"), act("d", R + 2_500, { decision: "deny" })], { graceMs: 1_000, layerGraceMs: {} });
    expect(summary(r, "v").propagation_ms).toEqual({ gateway: 2_500 });
  });
});

describe("cascade through delegation", () => {
  // root c0 (agent-a) -> c1 (agent-b) -> c2 (agent-c) -> c3 (agent-d, issued after the revocation)
  const chain = () => [
    issue("i0", 0, "agent-a", "c0"),
    issue("i1", 1_000, "agent-b", "c1", "c0"),
    issue("i2", 2_000, "agent-c", "c2", "c1"),
    rev("v", R, "agent", "agent-a"),
    issue("i3", R + 1_000, "agent-d", "c3", "c2"),
    act("b-acts", R + 2_000, { agent_id: "agent-b", credential_id: "c1" }),
    act("d-acts", R + 3_000, { agent_id: "agent-d", credential_id: "c3" }),
    act("e-acts", R + 3_000, { agent_id: "agent-e", credential_id: "unrelated" }),
  ];

  it("covers descendants at depth 3, including a credential issued after the revocation", () => {
    const r = evaluateReference(chain());
    expect(pairIds(r)).toEqual(["v:b-acts", "v:d-acts"]);
    expect(r.pairs.every((p) => p.via === "cascade")).toBe(true);
    const leaks = alertsOf(r, "delegated_authority_leak");
    expect(leaks.map((a) => a.agent_id).sort()).toEqual(["agent-b", "agent-d"]);
    expect(alertsOf(r, "post_revocation_activity")).toEqual([]);
  });

  it("covers a credential whose issuance arrives after its use was seen", () => {
    const r = evaluateReference([
      rev("v", R, "credential", "root"),
      act("use", R + 100, { agent_id: "agent-x", credential_id: "child" }),
      issue("late-issue", R + 50_000, "agent-x", "child", "root"),
    ]);
    expect(pairIds(r)).toEqual(["v:use"]);
    expect(r.pairs[0].via).toBe("cascade");
  });

  it("tolerates a cycle in parent links", () => {
    const r = evaluateReference([
      issue("i1", 0, "agent-a", "c1", "c2"),
      issue("i2", 0, "agent-b", "c2", "c1"),
      issue("i3", 0, "agent-c", "c3", "c2"),
      rev("v", R, "credential", "c1"),
      act("use-c1", R + 1, { agent_id: "agent-a", credential_id: "c1" }),
      act("use-c2", R + 2, { agent_id: "agent-b", credential_id: "c2" }),
      act("use-c3", R + 3, { agent_id: "agent-c", credential_id: "c3" }),
    ]);
    expect(r.pairs.map((p) => [p.event_id, p.via])).toEqual([
      ["use-c1", "direct"],
      ["use-c2", "cascade"],
      ["use-c3", "cascade"],
    ]);
  });

  it("does not walk up to a parent: revoking a child leaves the parent alone", () => {
    const r = evaluateReference([
      issue("i1", 0, "agent-b", "child", "parent"),
      rev("v", R, "credential", "child"),
      act("use-parent", R + 1, { agent_id: "agent-a", credential_id: "parent" }),
    ]);
    expect(r.pairs).toEqual([]);
  });

  it("flags a copied credential issued to a second agent as cascade", () => {
    const r = evaluateReference([
      issue("i-a", 0, "agent-a", "shared"),
      issue("i-b", 10, "agent-b", "shared"),
      rev("v", R, "agent", "agent-a"),
      act("b-uses", R + 1, { agent_id: "agent-b", credential_id: "shared" }),
      act("b-own", R + 1, { agent_id: "agent-b", credential_id: "b-own" }),
    ]);
    expect(r.pairs.map((p) => [p.event_id, p.via])).toEqual([["b-uses", "cascade"]]);
    expect(alertsOf(r, "delegated_authority_leak").map((a) => a.agent_id)).toEqual(["agent-b"]);
  });

  it("flags a credential presented by the revoked agent and then by another agent as cascade", () => {
    const r = evaluateReference([
      act("a-earlier", 0, { agent_id: "agent-a", credential_id: "api-key-1" }),
      rev("v", R, "agent", "agent-a"),
      act("b-uses", R + 1, { agent_id: "agent-b", credential_id: "api-key-1" }),
    ]);
    expect(r.pairs.map((p) => [p.event_id, p.via])).toEqual([["b-uses", "cascade"]]);
  });

  it("cascade:false leaves descendants alone but still covers a root credential copied to another agent", () => {
    const events = [
      issue("i0", 0, "agent-a", "c0"),
      issue("i1", 0, "agent-b", "c1", "c0"),
      issue("i2", 0, "agent-d", "c2", "c1"),
      issue("i-copy", 0, "agent-c", "c0"),
      rev("v", R, "agent", "agent-a", { rev_cascade: false }),
      act("a-acts", R + 1, { agent_id: "agent-a", credential_id: "c0" }),
      act("b-acts", R + 1, { agent_id: "agent-b", credential_id: "c1" }),
      act("c-acts", R + 1, { agent_id: "agent-c", credential_id: "c0" }),
      act("d-acts", R + 1, { agent_id: "agent-d", credential_id: "c2" }),
    ];
    const r = evaluateReference(events);
    // docs/SEMANTICS.md point 4: the covered set is the root set only (c0), so the descendants
    // c1 and c2 are left alone, while the copy of c0 presented by agent-c is covered through cascade.
    expect(r.pairs.map((p) => [p.event_id, p.via])).toEqual([
      ["a-acts", "direct"],
      ["c-acts", "cascade"],
    ]);
    expect(summary(r, "v").cascade).toBe(false);
    expect(alertsOf(r, "delegated_authority_leak").map((a) => a.agent_id)).toEqual(["agent-c"]);
    // The same revocation with cascade on reaches the child and the copy.
    const on = evaluateReference(events.map((e) => (e.event_id === "v" ? { ...e, rev_cascade: true } : e)));
    expect(on.pairs.map((p) => p.event_id)).toEqual(["a-acts", "b-acts", "c-acts", "d-acts"]);
  });

  it("cascade:false on a credential revocation does not reach its children", () => {
    const r = evaluateReference([
      issue("i1", 0, "agent-b", "child", "root"),
      rev("v", R, "credential", "root", { rev_cascade: false }),
      act("child-use", R + 1, { agent_id: "agent-b", credential_id: "child" }),
      act("root-use", R + 1, { agent_id: "agent-a", credential_id: "root" }),
    ]);
    expect(pairIds(r)).toEqual(["v:root-use"]);
  });

  it("cascade:false on a session revocation still covers the session's own credentials elsewhere, not their children", () => {
    const r = evaluateReference([
      act("s1-before", 0, { session_id: "s1", credential_id: "long-lived" }),
      issue("i-child", 0, "agent-b", "ll-child", "long-lived"),
      rev("v", R, "session", "s1", { rev_cascade: false }),
      act("s1-after", R + 1, { session_id: "s1", credential_id: "other" }),
      act("s2-long-lived", R + 2, { session_id: "s2", credential_id: "long-lived" }),
      act("s3-child", R + 3, { agent_id: "agent-b", session_id: "s3", credential_id: "ll-child" }),
    ]);
    expect(r.pairs.map((p) => [p.event_id, p.via])).toEqual([
      ["s1-after", "direct"],
      ["s2-long-lived", "cascade"],
    ]);
  });

  it("session scope: a long-lived credential presented in the session is covered in another session; other sessions are left alone", () => {
    const r = evaluateReference([
      act("s1-before", 0, { session_id: "s1", credential_id: "long-lived" }),
      issue("i-tok", 0, "agent-a", "s1-token", "", { session_id: "s1" }),
      issue("i-child", 0, "agent-b", "s1-child", "s1-token"),
      rev("v", R, "session", "s1"),
      act("s1-after", R + 1, { session_id: "s1", credential_id: "long-lived" }),
      act("s2-long-lived", R + 2, { session_id: "s2", credential_id: "long-lived" }),
      act("s3-child", R + 3, { agent_id: "agent-b", session_id: "s3", credential_id: "s1-child" }),
      act("s4-other", R + 4, { session_id: "s4", credential_id: "other" }),
    ]);
    expect(r.pairs.map((p) => [p.event_id, p.via])).toEqual([
      ["s1-after", "direct"],
      ["s2-long-lived", "cascade"],
      ["s3-child", "cascade"],
    ]);
  });

  it("pipeline scope: credentials issued in the pipeline are covered outside it; alerts carry the pipeline", () => {
    const r = evaluateReference([
      issue("i1", 0, "agent-a", "p-token", "", { pipeline_id: "p1" }),
      rev("v", R, "pipeline", "p1"),
      act("in-p1", R + 1, { agent_id: "agent-a", pipeline_id: "p1", credential_id: "p-token" }),
      act("outside", R + 2, { agent_id: "agent-z", pipeline_id: "p9", credential_id: "p-token" }),
      act("unrelated", R + 3, { agent_id: "agent-y", pipeline_id: "p9", credential_id: "y" }),
    ]);
    expect(r.pairs.map((p) => [p.event_id, p.via])).toEqual([
      ["in-p1", "direct"],
      ["outside", "cascade"],
    ]);
    // Scope pipeline: the alert's pipeline is the subject, even for a violation seen in p9.
    expect(r.alerts.map((a) => [a.rule, a.agent_id, a.pipeline_id]).sort()).toEqual([
      ["delegated_authority_leak", "agent-z", "p1"],
      ["post_revocation_activity", "agent-a", "p1"],
    ]);
  });
});

describe("revocations stand alone", () => {
  it("two revocations of the same agent give two pairs for an action inside both", () => {
    const r = evaluateReference([
      rev("v1", R, "agent", "agent-a"),
      rev("v2", R + 10_000, "agent", "agent-a"),
      act("between", R + 5_000),
      act("after-both", R + 20_000),
    ]);
    expect(pairIds(r)).toEqual(["v1:between", "v1:after-both", "v2:after-both"]);
    expect(r.revocations.map((s) => [s.event_id, s.violation_count])).toEqual([
      ["v1", 2],
      ["v2", 1],
    ]);
    expect(alertsOf(r, "post_revocation_activity").map((a) => a.revocation_id).sort()).toEqual(["v1", "v2"]);
  });

  it("one reinstatement ends both windows of the same subject that started before it", () => {
    const r = evaluateReference([
      rev("v1", R, "agent", "agent-a"),
      rev("v2", R + 1_000, "agent", "agent-a"),
      reinstate("back", R + 2_000, "agent", "agent-a"),
      rev("v3", R + 3_000, "agent", "agent-a"),
      act("x", R + 4_000),
    ]);
    expect(pairIds(r)).toEqual(["v3:x"]);
    expect(r.revocations.map((s) => s.reinstated_at)).toEqual([at(R + 2_000), at(R + 2_000), null]);
  });
});

describe("violation vs blocked, containment, layers", () => {
  it("allow and unknown are violations, deny is a blocked attempt", () => {
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a"),
      act("allow", R + 1, { decision: "allow" }),
      act("unknown", R + 2, { decision: "unknown" }),
      act("absent", R + 3, { decision: "" }),
      act("deny", R + 4, { decision: "deny" }),
    ]);
    expect(r.pairs.map((p) => [p.event_id, p.violation, p.decision])).toEqual([
      ["allow", true, "allow"],
      ["unknown", true, "unknown"],
      ["absent", true, "unknown"],
      ["deny", false, "deny"],
    ]);
    expect(summary(r, "v").violation_count).toBe(3);
    expect(summary(r, "v").blocked_count).toBe(1);
  });

  it("contained: no pairs at all, or blocked attempts only", () => {
    const none = evaluateReference([rev("v", R, "agent", "agent-a")]);
    expect(summary(none, "v")).toMatchObject({ containment: "contained", layers: {}, propagation_ms: {}, violation_count: 0, blocked_count: 0 });
    const blocked = evaluateReference([rev("v", R, "agent", "agent-a"), act("d", R + 1, { decision: "deny" })]);
    expect(summary(blocked, "v").containment).toBe("contained");
    expect(blocked.alerts).toEqual([]);
  });

  it("partial: violations and blocked attempts; uncontained: violations only", () => {
    const partial = evaluateReference([rev("v", R, "agent", "agent-a"), act("ok", R + 1, { decision: "allow" }), act("d", R + 2, { decision: "deny", layer: "tool" })]);
    expect(summary(partial, "v").containment).toBe("partial");
    const uncontained = evaluateReference([rev("v", R, "agent", "agent-a"), act("ok", R + 1, { decision: "allow" })]);
    expect(summary(uncontained, "v").containment).toBe("uncontained");
    expect(alertsOf(uncontained, "partial_containment")).toEqual([]);
  });

  it("per layer: leaking on any violation, enforcing on blocked only, silent layers absent; propagation from the first block", () => {
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a", { rev_reason: "compromised", rev_initiated_by: "soc@example.com" }),
      act("gw-deny-2", R + 900, { layer: "gateway", decision: "deny" }),
      act("gw-deny-1", R + 400, { layer: "gateway", decision: "deny" }),
      act("tool-allow", R + 100, { layer: "tool", decision: "allow" }),
      act("tool-deny", R + 700, { layer: "tool", decision: "deny" }),
      act("saas-unknown", R + 50, { layer: "saas", decision: "unknown" }),
      act("idp-before", R - 5, { layer: "idp", decision: "deny" }),
    ]);
    const s = summary(r, "v");
    expect(s).toEqual({
      event_id: "v",
      time: at(R),
      scope: "agent",
      subject: "agent-a",
      cascade: true,
      reason: "compromised",
      initiated_by: "soc@example.com",
      reinstated_at: null,
      containment: "partial",
      layers: { gateway: "enforcing", saas: "leaking", tool: "leaking" },
      propagation_ms: { gateway: 400, tool: 700 },
      violation_count: 2,
      blocked_count: 3,
    });
    expect(Object.keys(s.layers)).toEqual(["gateway", "saas", "tool"]);
    expect(Object.keys(s.propagation_ms)).toEqual(["gateway", "tool"]);
  });

  it("keys of layers and propagation_ms are inserted alphabetically whatever the input order", () => {
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a"),
      act("z", R + 1, { layer: "zeta", decision: "deny" }),
      act("m", R + 2, { layer: "mid", decision: "deny" }),
      act("a", R + 3, { layer: "alpha", decision: "deny" }),
    ]);
    expect(Object.keys(summary(r, "v").layers)).toEqual(["alpha", "mid", "zeta"]);
    expect(Object.keys(summary(r, "v").propagation_ms)).toEqual(["alpha", "mid", "zeta"]);
  });
});

describe("alerts", () => {
  it("post_revocation_activity: one per revocation and agent, stable id, full shape", () => {
    const events = [
      rev("v", R, "agent", "agent-a"),
      act("a1", R + 10, { layer: "tool", pipeline_id: "", decision: "allow" }),
      act("a2", R + 20, { layer: "tool", pipeline_id: "p7", decision: "unknown" }),
      act("a3", R + 30, { layer: "gateway", pipeline_id: "p8", decision: "deny" }),
      act("a4", R + 40, { layer: "saas", pipeline_id: "p8", decision: "allow" }),
    ];
    const r = evaluateReference(events);
    const pra = alertsOf(r, "post_revocation_activity");
    expect(pra).toEqual([
      {
        id: alertId("post_revocation_activity", "v", "agent-a"),
        rule: "post_revocation_activity",
        severity: "high",
        revocation_id: "v",
        agent_id: "agent-a",
        pipeline_id: "p7", // earliest counted violation that has a pipeline
        layers_enforcing: ["gateway"],
        layers_leaking: ["saas", "tool"],
        violation_count: 3,
        first_violation_at: at(R + 10),
        last_violation_at: at(R + 40),
        sample_event_ids: ["a1", "a2", "a4"],
      },
    ]);
    expect(pra[0].id).toMatch(/^al_[0-9a-f]{24}$/);

    // Re-evaluation with more activity updates the same alert (same id), it does not add one.
    const again = evaluateReference([...events, act("a5", R + 50)]);
    const pra2 = alertsOf(again, "post_revocation_activity");
    expect(pra2).toHaveLength(1);
    expect(pra2[0].id).toBe(pra[0].id);
    expect(pra2[0].violation_count).toBe(4);
  });

  it("pipeline_id is null when no counted violation has one (and the scope is not pipeline)", () => {
    const r = evaluateReference([rev("v", R, "agent", "agent-a"), act("a1", R + 1)]);
    expect(r.alerts[0].pipeline_id).toBeNull();
  });

  it("one alert per agent; ids differ by agent and by revocation", () => {
    const r = evaluateReference([
      rev("v", R, "pipeline", "p1"),
      act("a", R + 1, { agent_id: "agent-a", pipeline_id: "p1" }),
      act("b", R + 1, { agent_id: "agent-b", pipeline_id: "p1" }),
    ]);
    const pra = alertsOf(r, "post_revocation_activity");
    expect(pra.map((a) => a.agent_id).sort()).toEqual(["agent-a", "agent-b"]);
    expect(new Set(pra.map((a) => a.id)).size).toBe(2);
    expect(pra.map((a) => a.id).sort()).toEqual([alertId("post_revocation_activity", "v", "agent-a"), alertId("post_revocation_activity", "v", "agent-b")].sort());
  });

  it("an agent with direct and cascade violations gets both alerts, each counting its own kind", () => {
    // agent-b acts in the revoked session (direct) and presents that session's token in another
    // session (cascade).
    const r = evaluateReference([
      issue("i", 0, "agent-b", "sess-token", "", { session_id: "s1" }),
      rev("v", R, "session", "s1"),
      act("direct-1", R + 10, { agent_id: "agent-b", session_id: "s1", credential_id: "sess-token", action: "secret.read", layer: "secret_store" }),
      act("cascade-1", R + 20, { agent_id: "agent-b", session_id: "s2", credential_id: "sess-token", layer: "tool" }),
      act("cascade-2", R + 30, { agent_id: "agent-b", session_id: "s2", credential_id: "sess-token", layer: "tool", decision: "deny" }),
    ]);
    const pra = alertsOf(r, "post_revocation_activity");
    const dal = alertsOf(r, "delegated_authority_leak");
    expect(pra).toHaveLength(1);
    expect(dal).toHaveLength(1);
    expect(pra[0].id).not.toBe(dal[0].id);
    expect(dal[0].id).toBe(alertId("delegated_authority_leak", "v", "agent-b"));
    expect(pra[0]).toMatchObject({ violation_count: 1, sample_event_ids: ["direct-1"], severity: "critical" });
    // The secret.read violation is direct: it does not make the cascade alert critical.
    expect(dal[0]).toMatchObject({ violation_count: 1, sample_event_ids: ["cascade-1"], severity: "high" });
    // Layers are over all of that agent's pairs for V.
    expect(pra[0].layers_leaking).toEqual(["secret_store", "tool"]);
    expect(dal[0].layers_leaking).toEqual(["secret_store", "tool"]);
    expect(pra[0].layers_enforcing).toEqual([]);
  });

  it("partial_containment: one per revocation, no agent, always critical, counting all violations", () => {
    const r = evaluateReference([
      issue("i", 0, "agent-b", "child", "ca"),
      issue("i0", 0, "agent-a", "ca"),
      rev("v", R, "agent", "agent-a"),
      act("a-allow", R + 10, { layer: "tool", sensitivity: "low", pipeline_id: "p3" }),
      act("b-allow", R + 20, { agent_id: "agent-b", credential_id: "child", layer: "saas" }),
      act("a-deny", R + 30, { layer: "gateway", decision: "deny" }),
    ]);
    const pc = alertsOf(r, "partial_containment");
    expect(pc).toEqual([
      {
        id: alertId("partial_containment", "v", null),
        rule: "partial_containment",
        severity: "critical",
        revocation_id: "v",
        agent_id: null,
        pipeline_id: "p3",
        layers_enforcing: ["gateway"],
        layers_leaking: ["saas", "tool"],
        violation_count: 2,
        first_violation_at: at(R + 10),
        last_violation_at: at(R + 20),
        sample_event_ids: ["a-allow", "b-allow"],
      },
    ]);
    // The per-agent alerts of the same scenario are not critical.
    expect(alertsOf(r, "post_revocation_activity")[0].severity).toBe("high");
    expect(alertsOf(r, "delegated_authority_leak")[0].severity).toBe("high");
  });

  it.each([
    [{ sensitivity: "high" as const }, "critical"],
    [{ sensitivity: "critical" as const }, "critical"],
    [{ sensitivity: "medium" as const }, "high"],
    [{ sensitivity: "low" as const }, "high"],
    [{ action: "secret.read" }, "critical"],
    [{ action: "secret.list" }, "critical"],
    [{ action: "data.export" }, "critical"],
    [{ action: "data.exporter" }, "high"],
    [{ action: "secretive.call" }, "high"],
    [{ action: "http.request" }, "high"],
  ])("severity for a violation with %o is %s", (fields, severity) => {
    const r = evaluateReference([rev("v", R, "agent", "agent-a"), act("a", R + 1, fields)]);
    expect(alertsOf(r, "post_revocation_activity")[0].severity).toBe(severity);
  });

  it("a blocked attempt on a sensitive resource does not raise the severity", () => {
    const r = evaluateReference([
      rev("v", R, "agent", "agent-a"),
      act("ok", R + 1, { action: "http.request" }),
      act("blocked", R + 2, { action: "secret.read", sensitivity: "critical", decision: "deny" }),
    ]);
    expect(alertsOf(r, "post_revocation_activity")[0].severity).toBe("high");
  });

  it("samples the first 10 violations by (time, event_id), with first/last over all", () => {
    const events = [rev("v", R, "agent", "agent-a")];
    for (let i = 0; i < 12; i++) events.push(act(`e${String(i).padStart(2, "0")}`, R + 100 - i * 5));
    events.push(act("tie-b", R + 1), act("tie-a", R + 1)); // same ms: ordered by event_id
    events.push(act("blocked-first", R + 1, { decision: "deny" })); // not a violation, never sampled
    const a = alertsOf(evaluateReference(events), "post_revocation_activity")[0];
    expect(a.violation_count).toBe(14);
    expect(a.sample_event_ids).toEqual(["tie-a", "tie-b", "e11", "e10", "e09", "e08", "e07", "e06", "e05", "e04"]);
    expect(a.first_violation_at).toBe(at(R + 1));
    expect(a.last_violation_at).toBe(at(R + 100));
  });

  it("no alerts for a revocation with no violations", () => {
    const r = evaluateReference([rev("v", R, "agent", "agent-a"), act("early", R - 1), act("d", R + 1, { decision: "deny" })]);
    expect(r.alerts).toEqual([]);
  });
});

describe("duplicates and ordering", () => {
  const scenario = (): StoredEvent[] => [
    issue("i0", 0, "agent-a", "c0", "", { pipeline_id: "p1" }),
    issue("i1", 1_000, "agent-b", "c1", "c0", { pipeline_id: "p1" }),
    issue("i2", R + 500, "agent-c", "c2", "c1"),
    act("pre", R - 1_000, { agent_id: "agent-a", credential_id: "c0", pipeline_id: "p1" }),
    rev("v-agent", R, "agent", "agent-a"),
    rev("v-pipe", R + 100, "pipeline", "p1"),
    rev("v-cred", R + 200, "credential", "c1", { rev_cascade: false }),
    reinstate("back", R + 50_000, "agent", "agent-a"),
    act("a1", R + 10, { agent_id: "agent-a", credential_id: "c0", pipeline_id: "p1", layer: "gateway", decision: "deny" }),
    act("a2", R + 300, { agent_id: "agent-a", credential_id: "c0", pipeline_id: "p1", layer: "tool", action: "data.export" }),
    act("b1", R + 400, { agent_id: "agent-b", credential_id: "c1", pipeline_id: "p1", layer: "saas", sensitivity: "high" }),
    act("c1", R + 600, { agent_id: "agent-c", credential_id: "c2", layer: "runtime" }),
    act("c2", R + 600, { agent_id: "agent-c", credential_id: "c2", layer: "runtime", decision: "deny" }),
    act("a3", R + 60_000, { agent_id: "agent-a", credential_id: "c0", pipeline_id: "p1", layer: "gateway" }),
  ];

  it("a redelivered event is counted once", () => {
    const events = scenario();
    const once = evaluateReference(events);
    const twice = evaluateReference([...events, ...events.map((e) => ({ ...e })), act("a2", R + 300, { agent_id: "agent-a", credential_id: "c0", pipeline_id: "p1", layer: "tool", action: "data.export" })]);
    expect(twice).toEqual(once);
    expect(new Set(twice.pairs.map((p) => `${p.revocation_id}:${p.event_id}`)).size).toBe(twice.pairs.length);
  });

  it("a duplicated revocation yields one summary and one set of pairs", () => {
    const r = evaluateReference([rev("v", R, "agent", "agent-a"), rev("v", R, "agent", "agent-a"), act("x", R + 1), act("x", R + 1)]);
    expect(r.revocations).toHaveLength(1);
    expect(pairIds(r)).toEqual(["v:x"]);
    expect(r.alerts[0].violation_count).toBe(1);
  });

  it("when two payloads share an event_id, the last one wins", () => {
    const r = evaluateReference([rev("v", R, "agent", "agent-a"), act("x", R + 1, { decision: "allow" }), act("x", R + 1, { decision: "deny" })]);
    expect(r.pairs.map((p) => p.decision)).toEqual(["deny"]);
    expect(summary(r, "v").containment).toBe("contained");
  });

  it("covers the scenario as expected", () => {
    const r = evaluateReference(scenario());
    expect(r.pairs.map((p) => `${p.revocation_id}:${p.event_id}:${p.via}:${p.violation}`)).toEqual([
      "v-agent:a1:direct:false",
      "v-agent:a2:direct:true",
      "v-agent:b1:cascade:true",
      "v-agent:c1:cascade:true",
      "v-agent:c2:cascade:false",
      "v-cred:b1:direct:true",
      "v-pipe:a2:direct:true",
      "v-pipe:b1:direct:true",
      "v-pipe:c1:cascade:true",
      "v-pipe:c2:cascade:false",
      "v-pipe:a3:direct:true",
    ]);
    expect(r.revocations.map((s) => [s.event_id, s.containment, s.reinstated_at])).toEqual([
      ["v-agent", "partial", at(R + 50_000)],
      ["v-pipe", "partial", null],
      ["v-cred", "uncontained", null],
    ]);
    expect(summary(r, "v-agent").propagation_ms).toEqual({ gateway: 10, runtime: 600 });
    expect(summary(r, "v-pipe").layers).toEqual({ gateway: "leaking", runtime: "leaking", saas: "leaking", tool: "leaking" });
  });

  it("the result does not depend on the order the events arrive in", () => {
    const events = scenario();
    const expected = evaluateReference(events);
    expect(expected.pairs.length).toBeGreaterThan(5);
    expect(expected.alerts.length).toBeGreaterThan(3);
    for (const seed of [1, 2, 3, 42, 1234]) {
      const shuffled = shuffle([...events, ...events.slice(0, 5)], seed);
      const got = evaluateReference(shuffled);
      expect(got).toEqual(expected);
      // Same key order too (JSON is what the API returns).
      expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
    }
  });

  it("sorts pairs by (revocation_id, time, event_id), revocations by (time, event_id), alerts by id", () => {
    const r = evaluateReference([
      rev("vb", R, "agent", "agent-a"),
      rev("va", R, "agent", "agent-a"),
      rev("v0", R - 10, "agent", "agent-a"),
      act("z", R + 5),
      act("y", R + 5),
      act("x", R + 1),
      act("q", R - 5, { decision: "deny" }),
    ]);
    expect(pairIds(r)).toEqual(["v0:q", "v0:x", "v0:y", "v0:z", "va:x", "va:y", "va:z", "vb:x", "vb:y", "vb:z"]);
    expect(r.revocations.map((s) => s.event_id)).toEqual(["v0", "va", "vb"]);
    const ids = r.alerts.map((a) => a.id);
    expect(ids).toEqual([...ids].sort());
    expect(r.alerts.length).toBe(4); // 3 × post_revocation_activity + partial for v0
  });

  it("evaluates a 5,000-event scenario with 50 revocations of every scope", () => {
    const events: StoredEvent[] = [];
    const agents = 50;
    for (let a = 0; a < agents; a++) {
      events.push(issue(`iss-${a}`, 0, `agent-${a}`, `cred-${a}`, a > 0 ? `cred-${a - 1}` : "", { pipeline_id: `p-${a % 5}` }));
    }
    for (let v = 0; v < 50; v++) {
      const scope = (["agent", "session", "credential", "pipeline"] as const)[v % 4];
      const subject = scope === "agent" ? `agent-${v}` : scope === "session" ? `s-${v}` : scope === "credential" ? `cred-${v}` : `p-${v % 5}`;
      events.push(rev(`rev-${v}`, R + v * 1_000, scope, subject));
      if (v % 7 === 0) events.push(reinstate(`rei-${v}`, R + v * 1_000 + 30_000, scope, subject));
    }
    const rand = rng(7);
    for (let i = 0; events.length < 5_000; i++) {
      const a = Math.floor(rand() * agents);
      events.push(
        act(`act-${i}`, Math.floor(rand() * 200_000), {
          agent_id: `agent-${a}`,
          credential_id: `cred-${a}`,
          session_id: `s-${Math.floor(rand() * 60)}`,
          pipeline_id: `p-${a % 5}`,
          layer: ["gateway", "tool", "saas", "secret_store"][Math.floor(rand() * 4)],
          decision: rand() < 0.5 ? "deny" : "allow",
        }),
      );
    }
    // No timing assertion here (speed belongs to benchmarks): this checks the oracle copes
    // with a realistic size and produces a non-trivial result.
    const r = evaluateReference(events);
    expect(r.revocations).toHaveLength(50);
    expect(r.pairs.length).toBeGreaterThan(1_000);
  });
});
