/**
 * The engine's matching (lib/detection/matcher.ts, matchActions) at the edges of a window
 * (R + grace(layer), L], which docs/SEMANTICS.md fixes and the reference oracle checks
 * (test/unit/reference.test.ts, "window bounds"); the property tests' random times seldom
 * land on an edge. Checked on both coverage lookups, with rows that touch an action through
 * several keys of one revocation, and through keys of two revocations with different windows.
 */
import { describe, expect, it } from "vitest";
import type { StoredEvent } from "@/lib/events/schema";
import { CoverageMemory } from "@/lib/detection/coverage-memory";
import { CoverageIndex, matchActions, type CoverageEntry, type CoverageLookup } from "@/lib/detection/matcher";
import type { DetectionSettings } from "@/lib/detection/types";

const R = Date.parse("2026-11-30T06:00:00.000Z");
const L = R + 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

const row = (over: Partial<CoverageEntry>): CoverageEntry => ({
  key_kind: "agent", key: "agent-s", revocation_id: "rev-s", via: "direct", scope: "agent", subject: "agent-s", cascade: true,
  revoked_at: iso(R), reinstated_at: iso(L), generation: 1, ...over,
});

/**
 * rev-s: agent-s, reinstated at L, covering its credential cred-s by cascade (an action of
 * agent-s with cred-s touches two rows of rev-s). rev-c: credential cred-c itself (direct), revoked at L and
 * never reinstated (an action with cred-c at agent-s touches rows of both, whose windows meet at L).
 * rev-again: agent-s revoked again at L + 30 s (its key then has rows of two revocations, the
 * first one's window closed).
 */
const rows = [
  row({}),
  row({ key_kind: "credential", key: "cred-s", via: "cascade" }),
  row({ key_kind: "credential", key: "cred-c", revocation_id: "rev-c", scope: "credential", subject: "cred-c", revoked_at: iso(L), reinstated_at: null }),
  row({ revocation_id: "rev-again", revoked_at: iso(L + 30_000), reinstated_at: null }),
];

const action = (id: string, ms: number, over: Partial<StoredEvent> = {}): StoredEvent =>
  ({
    event_id: id, type: "action", time: iso(ms), agent_id: "agent-s", session_id: "", pipeline_id: "", credential_id: "cred-s", layer: "gateway",
    decision: "allow", action: "tools/call", resource: "r", sensitivity: "", ...over,
  }) as StoredEvent;

function lookups(): [string, CoverageLookup][] {
  const memory = new CoverageMemory();
  memory.add(rows, 1);
  return [["held in memory", memory], ["a batch's index", new CoverageIndex(rows)]];
}

const noGrace: DetectionSettings = { graceMs: 0, layerGraceMs: {} };
const pairsOf = (events: StoredEvent[], index: CoverageLookup, settings = noGrace) =>
  matchActions(events, index, settings).map((p) => `${p.revocation_id}:${p.event_id}:${p.via}`);

describe("matching at the edges of a window", () => {
  it.each(lookups())("R is outside, R+1 ms inside, L inside, L+1 ms outside (%s)", (_, index) => {
    const events = [action("at-r", R), action("r-plus-1", R + 1), action("at-l", L), action("l-plus-1", L + 1)];
    expect(pairsOf(events, index)).toEqual(["rev-s:r-plus-1:direct", "rev-s:at-l:direct"]);
  });

  it.each(lookups())("where two revocations' windows meet, each takes its own side (%s)", (_, index) => {
    const events = [action("at-l", L, { credential_id: "cred-c" }), action("l-plus-1", L + 1, { credential_id: "cred-c" })];
    expect(pairsOf(events, index)).toEqual(["rev-s:at-l:direct", "rev-c:l-plus-1:direct"]);
  });

  it.each(lookups())("a key revoked again after its reinstatement matches the second window only (%s)", (_, index) => {
    const events = [action("between", L + 10_000, { credential_id: "" }), action("again", L + 40_000, { credential_id: "" })];
    expect(pairsOf(events, index)).toEqual(["rev-again:again:direct"]);
  });

  it.each(lookups())("a layer's grace moves the start, not the end (%s)", (_, index) => {
    const grace: DetectionSettings = { graceMs: 0, layerGraceMs: { tool: 5_000 } };
    const events = [action("tool-early", R + 5_000, { layer: "tool" }), action("tool-late", R + 5_001, { layer: "tool" }), action("gateway", R + 1), action("tool-at-l", L, { layer: "tool" })];
    expect(pairsOf(events, index, grace)).toEqual(["rev-s:tool-late:direct", "rev-s:gateway:direct", "rev-s:tool-at-l:direct"]);
  });
});
