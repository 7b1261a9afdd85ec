/**
 * What the sole writer remembers of when each agent and credential last acted
 * (lib/detection/latest-actions.ts): a new revocation is committed without a derivation only
 * when nothing it covers acted after it, and anything the memory does not hold counts as
 * having acted as late as its floor.
 */
import { describe, expect, it } from "vitest";
import type { StoredEvent } from "@/lib/events/schema";
import { LatestActions } from "@/lib/detection/latest-actions";
import type { CoverageEntry, KeyKind } from "@/lib/detection/matcher";

const action = (agent: string, credential: string, time: string) =>
  ({ type: "action", agent_id: agent, credential_id: credential, session_id: "s-1", pipeline_id: "p-1", time }) as StoredEvent;

const row = (key_kind: KeyKind, key: string) =>
  ({ key_kind, key, revocation_id: "r", via: "direct", scope: key_kind, subject: key, cascade: true, revoked_at: "", reinstated_at: null, generation: 1 }) as CoverageEntry;

describe("latest actions per agent and credential", () => {
  it("says nothing acted after R only when every covered agent and credential last acted at or before R", () => {
    const latest = new LatestActions();
    latest.fold([action("a-1", "c-1", "2026-01-01T00:00:10.000Z"), action("a-2", "c-2", "2026-01-01T00:00:30.000Z")]);
    expect(latest.noneAfter([row("agent", "a-1"), row("credential", "c-1")], "2026-01-01T00:00:10.000Z")).toBe(true);
    expect(latest.noneAfter([row("agent", "a-1"), row("credential", "c-2")], "2026-01-01T00:00:20.000Z")).toBe(false);
    expect(latest.noneAfter([row("agent", "a-2")], "2026-01-01T00:00:29.999Z")).toBe(false);
    // Never seen acting: nothing after R.
    expect(latest.noneAfter([row("agent", "a-9"), row("credential", "c-9")], "2026-01-01T00:00:00.000Z")).toBe(true);
  });

  it("keeps the latest time whatever the order, and counts only actions", () => {
    const latest = new LatestActions();
    latest.fold([action("a-1", "c-1", "2026-01-01T00:00:30.000Z"), action("a-1", "c-1", "2026-01-01T00:00:05.000Z")]);
    latest.fold([{ ...action("a-2", "c-2", "2026-01-01T00:01:00.000Z"), type: "credential_issued" } as StoredEvent]);
    expect(latest.noneAfter([row("agent", "a-1")], "2026-01-01T00:00:20.000Z")).toBe(false);
    expect(latest.noneAfter([row("agent", "a-2"), row("credential", "c-2")], "2026-01-01T00:00:20.000Z")).toBe(true);
  });

  it("reads ClickHouse's DateTime64 text as UTC, like ISO times", () => {
    const latest = new LatestActions();
    latest.fold([action("a-1", "c-1", "2026-01-01 00:00:30.000")]);
    expect(latest.noneAfter([row("agent", "a-1")], "2026-01-01T00:00:29.999Z")).toBe(false);
    expect(latest.noneAfter([row("agent", "a-1")], "2026-01-01 00:00:30.000")).toBe(true);
  });

  it("always derives a revocation that covers a session or a pipeline (their last actions are not kept)", () => {
    const latest = new LatestActions();
    expect(latest.noneAfter([row("session", "s-1")], "2026-01-01T00:00:00.000Z")).toBe(false);
    expect(latest.noneAfter([row("agent", "a-1"), row("pipeline", "p-1")], "2026-01-01T00:00:00.000Z")).toBe(false);
  });

  it("takes what was stored before it started as acting at its floor (the latest stored time, as ClickHouse writes it)", () => {
    const latest = new LatestActions("2026-01-01 00:01:00.000");
    expect(latest.noneAfter([row("agent", "a-1")], "2026-01-01T00:00:59.999Z")).toBe(false);
    expect(latest.noneAfter([row("agent", "a-1")], "2026-01-01T00:01:00.000Z")).toBe(true);
  });

  it("raises its floor to what it forgets when it outgrows its cap", () => {
    const latest = new LatestActions();
    latest.fold([action("a-late", "c-late", "2026-01-02T00:00:00.000Z")]);
    // 400,000 keys at most: 250,000 agents with a credential each pass it.
    const many = Array.from({ length: 250_000 }, (_, i) => action(`a-${i}`, `c-${i}`, "2026-01-01T00:00:00.000Z"));
    latest.fold(many);
    // a-late's time is forgotten, not lost: an agent never seen now counts as acting that late.
    expect(latest.noneAfter([row("agent", "a-late")], "2026-01-01T12:00:00.000Z")).toBe(false);
    expect(latest.noneAfter([row("agent", "a-never-seen")], "2026-01-01T12:00:00.000Z")).toBe(false);
    expect(latest.noneAfter([row("agent", "a-never-seen")], "2026-01-02T00:00:00.000Z")).toBe(true);
  });
});
