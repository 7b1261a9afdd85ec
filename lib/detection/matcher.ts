/**
 * Matching events against coverage rows, in memory and pure: the step every stored batch
 * and every derivation from scratch share (docs/SEMANTICS.md points 1, 5 and 6).
 *
 * The caller fetches the coverage rows of the keys its events mention (lib/detection/coverage.ts);
 * this module turns (events × rows) into post-revocation pairs, and tells which revocations'
 * covered sets a batch makes grow (a subject presenting a new credential, a covered credential
 * getting a child), which is data that changes those revocations' past.
 */
import type { StoredEvent } from "../events/schema";
import { graceFor, type DetectionSettings, type PostRevocationAction, type Via } from "./types";

export type KeyKind = "agent" | "session" | "pipeline" | "credential";

/** One row of the coverage table: `key` of kind `key_kind` is covered by `revocation_id`. */
export interface CoverageEntry {
  key_kind: KeyKind;
  key: string;
  revocation_id: string;
  via: Via;
  scope: KeyKind;
  subject: string;
  cascade: boolean;
  revoked_at: string;
  reinstated_at: string | null;
  generation: number;
}

/** A pair found by matching, with the generation of its revocation it is written to. */
export interface MatchedPair extends PostRevocationAction {
  generation: number;
}

/** The one empty list every CoverageLookup hands out for a key without rows (not to be changed). */
export const NO_COVERAGE: readonly CoverageEntry[] = Object.freeze([]);

/** A map per key kind: a lookup asks by kind, then key, without building a (kind, key) string per question. */
export function byKeyKind<T>(): Record<KeyKind, Map<string, T>> {
  return { agent: new Map(), session: new Map(), pipeline: new Map(), credential: new Map() };
}

/**
 * Coverage rows by key, as matching asks for them: a batch's index, or the sole writer's whole
 * table in memory (lib/detection/coverage-memory.ts).
 */
export interface CoverageLookup {
  /** How many keys have rows (0: nothing can match). */
  readonly size: number;
  /** The rows of one key; the same empty list for every key without any (not to be changed). */
  get(kind: KeyKind, key: string): readonly CoverageEntry[];
  /** Whether `revocationId` covers credential `credential` (directly or through cascade). */
  coversCredential(revocationId: string, credential: string): boolean;
}

/** Coverage rows indexed by kind, then key, for one batch (asked four times per event). */
export class CoverageIndex implements CoverageLookup {
  private readonly byKind = byKeyKind<CoverageEntry[]>();
  private keys = 0;

  constructor(entries: Iterable<CoverageEntry>) {
    for (const e of entries) {
      const byKey = this.byKind[e.key_kind];
      const list = byKey.get(e.key);
      if (list) list.push(e);
      else {
        byKey.set(e.key, [e]);
        this.keys++;
      }
    }
  }

  get size(): number {
    return this.keys;
  }

  /** The rows of one key; the same empty list for every key without any (not to be changed). */
  get(kind: KeyKind, key: string): readonly CoverageEntry[] {
    return key === "" ? NO_COVERAGE : (this.byKind[kind].get(key) ?? NO_COVERAGE);
  }

  /** Whether `revocationId` covers credential `credential` (directly or through cascade). */
  coversCredential(revocationId: string, credential: string): boolean {
    return this.get("credential", credential).some((e) => e.revocation_id === revocationId);
  }
}

/** The keys of each kind the events mention; kinds outside `kinds` (when given) stay empty. */
export function keysOf(events: Iterable<StoredEvent>, kinds?: ReadonlySet<KeyKind>): Record<KeyKind, string[]> {
  const wanted = (kind: KeyKind) => !kinds || kinds.has(kind);
  const [agent, session, pipeline, credential] = (["agent", "session", "pipeline", "credential"] as const).map(wanted);
  const sets: Record<KeyKind, Set<string>> = { agent: new Set(), session: new Set(), pipeline: new Set(), credential: new Set() };
  for (const e of events) {
    if (agent && e.agent_id) sets.agent.add(e.agent_id);
    if (session && e.session_id) sets.session.add(e.session_id);
    if (pipeline && e.pipeline_id) sets.pipeline.add(e.pipeline_id);
    if (credential) {
      if (e.credential_id) sets.credential.add(e.credential_id);
      if (e.cred_id) sets.credential.add(e.cred_id);
      if (e.cred_parent_id) sets.credential.add(e.cred_parent_id);
    }
  }
  return { agent: [...sets.agent], session: [...sets.session], pipeline: [...sets.pipeline], credential: [...sets.credential] };
}

/** Whether an action at `time` on `layer` lies in the entry's window (R + grace(layer), L]. */
function inWindow(entry: CoverageEntry, time: number, layer: string, settings: DetectionSettings): boolean {
  if (time <= Date.parse(entry.revoked_at) + graceFor(settings, layer)) return false;
  return entry.reinstated_at === null || time <= Date.parse(entry.reinstated_at);
}

/** Whether any of the rows' windows holds an action at `time` on `layer`. */
function anyInWindow(entries: readonly CoverageEntry[], time: number, layer: string, settings: DetectionSettings): boolean {
  for (let i = 0; i < entries.length; i++) if (inWindow(entries[i], time, layer, settings)) return true;
  return false;
}

/** Adds the rows of one key to an action's rows by revocation (direct wins over cascade). */
function addByRevocation(byRevocation: Map<string, { entry: CoverageEntry; direct: boolean }>, entries: readonly CoverageEntry[]): void {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const seen = byRevocation.get(entry.revocation_id);
    const direct = entry.via === "direct";
    if (!seen) byRevocation.set(entry.revocation_id, { entry, direct });
    else if (direct) seen.direct = true;
  }
}

/**
 * Every (action, revocation) pair among `events` that the coverage rows make post-revocation.
 * Direct when the action's own field for the scope equals the subject, cascade when only its
 * credential is covered (docs/SEMANTICS.md point 5).
 */
export function matchActions(events: readonly StoredEvent[], index: CoverageLookup, settings: DetectionSettings): MatchedPair[] {
  const pairs: MatchedPair[] = [];
  if (index.size === 0) return pairs;
  // Index loops and forEach, here and in growingRevocations: for…of over the lists and the map
  // allocated iterators, result objects and entry pairs at every step, which V8 did not
  // optimise away (bench:scale's incident: ~450 MB per million events by V8's sampling heap
  // profiler; alone, 20,000 events against 4,500 revocations: 528 → 114 bytes and ~3 → ~1 µs
  // per event: docs/BENCHMARKS.md).
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.type !== "action") continue;
    const agent = index.get("agent", e.agent_id);
    const session = index.get("session", e.session_id);
    const pipeline = index.get("pipeline", e.pipeline_id);
    const credential = index.get("credential", e.credential_id);
    // Most actions of a batch touch no covered key: nothing is built for them, not even a list
    // (allocations per action of a 5M-event week made the young generation fill and be
    // collected, with the batch's live rows copied, far more often: bench:scale, CPU profile).
    if (agent.length + session.length + pipeline.length + credential.length === 0) continue;
    // Nor for an action outside every window of the rows it touches: in bench:scale's incident
    // week (4,500 of 20,000 agents revoked) about a quarter of the actions touch a covered key,
    // and about half of those come before R or after L.
    // (Rows of one revocation share its window, so this asks what the loop below asks.)
    const time = Date.parse(e.time);
    const { layer } = e;
    const inSomeWindow =
      anyInWindow(agent, time, layer, settings) ||
      anyInWindow(session, time, layer, settings) ||
      anyInWindow(pipeline, time, layer, settings) ||
      anyInWindow(credential, time, layer, settings);
    if (!inSomeWindow) continue;
    const byRevocation = new Map<string, { entry: CoverageEntry; direct: boolean }>();
    addByRevocation(byRevocation, agent);
    addByRevocation(byRevocation, session);
    addByRevocation(byRevocation, pipeline);
    addByRevocation(byRevocation, credential);
    byRevocation.forEach(({ entry, direct }, revocationId) => {
      if (!inWindow(entry, time, layer, settings)) return;
      const decision = e.decision === "" ? "unknown" : e.decision;
      pairs.push({
        revocation_id: revocationId,
        generation: entry.generation,
        event_id: e.event_id,
        violation: decision !== "deny",
        via: direct ? "direct" : "cascade",
        time: e.time,
        agent_id: e.agent_id,
        pipeline_id: e.pipeline_id,
        session_id: e.session_id,
        credential_id: e.credential_id,
        layer: e.layer,
        action: e.action,
        resource: e.resource,
        decision,
        sensitivity: e.sensitivity,
      });
    });
  }
  return pairs;
}

/**
 * Revocations whose covered set the batch makes grow (docs/SEMANTICS.md points 3–4): the
 * subject of an agent / session / pipeline revocation issued or presented a credential the
 * revocation does not cover yet, or a credential it covers through a cascading revocation got
 * a child it does not cover yet. Those revocations' past changes: they are derived again.
 */
export function growingRevocations(events: readonly StoredEvent[], index: CoverageLookup): Set<string> {
  const growing = new Set<string>();
  if (index.size === 0) return growing;
  // Per event, nothing is allocated unless a covered key turns up (see matchActions).
  const addOwners = (owners: readonly CoverageEntry[], presented: string, issued: string) => {
    for (let i = 0; i < owners.length; i++) {
      const owner = owners[i];
      if (owner.via !== "direct") continue;
      if ((presented && !index.coversCredential(owner.revocation_id, presented)) || (issued && !index.coversCredential(owner.revocation_id, issued))) {
        growing.add(owner.revocation_id);
      }
    }
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const issued = e.type === "credential_issued" ? e.cred_id : "";
    if (e.credential_id || issued) {
      addOwners(index.get("agent", e.agent_id), e.credential_id, issued);
      addOwners(index.get("session", e.session_id), e.credential_id, issued);
      addOwners(index.get("pipeline", e.pipeline_id), e.credential_id, issued);
    }
    if (e.type === "credential_issued" && e.cred_id && e.cred_parent_id) {
      for (const parent of index.get("credential", e.cred_parent_id)) {
        if (parent.cascade && !index.coversCredential(parent.revocation_id, e.cred_id)) growing.add(parent.revocation_id);
      }
    }
  }
  return growing;
}
