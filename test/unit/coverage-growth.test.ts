/**
 * Which revocations a batch makes grow (lib/detection/matcher.ts, growingRevocations): their
 * covered set gains a credential, so their past is derived again (docs/SEMANTICS.md points 3–4).
 * Checked on the coverage held in memory (lib/detection/coverage-memory.ts) and on a batch's index.
 */
import { describe, expect, it } from "vitest";
import type { StoredEvent } from "@/lib/events/schema";
import { CoverageMemory } from "@/lib/detection/coverage-memory";
import { CoverageIndex, growingRevocations, type CoverageEntry, type CoverageLookup } from "@/lib/detection/matcher";

const row = (over: Partial<CoverageEntry>): CoverageEntry => ({
  key_kind: "agent", key: "agent-s", revocation_id: "rev-s", via: "direct", scope: "agent", subject: "agent-s", cascade: true,
  revoked_at: "2026-11-30T06:00:00.000Z", reinstated_at: null, generation: 1, ...over,
});

/** Agent S revoked (rev-s), already covering its credential cred-old; credential cred-root revoked with cascade (rev-c). */
const rows = [
  row({}),
  row({ key_kind: "credential", key: "cred-old", via: "cascade" }),
  row({ key_kind: "credential", key: "cred-root", revocation_id: "rev-c", scope: "credential", subject: "cred-root", via: "direct" }),
];

const event = (over: Partial<StoredEvent>): StoredEvent =>
  ({ event_id: "e", type: "action", time: "2026-11-30T06:05:00.000Z", agent_id: "", session_id: "", pipeline_id: "", credential_id: "", cred_id: "", cred_parent_id: "", ...over }) as StoredEvent;

function lookups(): [string, CoverageLookup][] {
  const memory = new CoverageMemory();
  memory.add(rows, 1);
  return [["held in memory", memory], ["a batch's index", new CoverageIndex(rows)]];
}

describe("revocations a batch makes grow", () => {
  it.each(lookups())("grows a revoked agent's revocation by a credential it is issued or presents, and a cascade by a child (%s)", (_, index) => {
    // Issued to the revoked agent, never presented by it: still in its root set.
    expect(growingRevocations([event({ type: "credential_issued", agent_id: "agent-s", cred_id: "cred-new" })], index)).toEqual(new Set(["rev-s"]));
    // Presented by it.
    expect(growingRevocations([event({ agent_id: "agent-s", credential_id: "cred-other" })], index)).toEqual(new Set(["rev-s"]));
    // A child of a credential revoked with cascade, issued to anyone.
    expect(growingRevocations([event({ type: "credential_issued", agent_id: "agent-x", cred_id: "cred-child", cred_parent_id: "cred-root" })], index)).toEqual(new Set(["rev-c"]));
  });

  it.each(lookups())("leaves revocations alone when nothing new is covered (%s)", (_, index) => {
    expect(growingRevocations([
      event({ agent_id: "agent-s", credential_id: "cred-old" }),
      event({ type: "credential_issued", agent_id: "agent-s", cred_id: "cred-old" }),
      event({ agent_id: "agent-x", credential_id: "cred-new" }),
      event({ type: "credential_issued", agent_id: "agent-x", cred_id: "cred-child", cred_parent_id: "cred-unrevoked" }),
    ], index)).toEqual(new Set());
  });
});
