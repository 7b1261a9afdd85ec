/**
 * Derivations from scratch, asynchronous: for a revocation whose past changed (it arrived, a
 * reinstatement moved its window end, its covered set grew), find every covered action in its
 * window once, and commit the result as a new generation of its pairs and counters.
 *
 * The engine has already rewritten the revocation's coverage rows with the new generation
 * (`write_generation`) before asking, so every batch evaluated from then on writes its pairs
 * there too. A derivation therefore:
 *   1. scans, on its own ClickHouse session and without holding the engine's lock, the actions
 *      stored before its bound: the store of the batch that asked for it (lib/detection/engine.ts,
 *      `soleWriter`), or everything stored so far (a bound of Infinity);
 *   2. under the lock, appends the pairs that the generation lacks, tombstones pairs of older
 *      generations it no longer finds, marks the generation committed and publishes it
 *      (lib/detection/publisher.ts).
 * A revocation whose coverage changed again meanwhile is left for the newer request. Pending
 * derivations are recorded in revocation_state, so a restart resumes them; several revocations
 * are derived in one scan.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { StoredEvent } from "../events/schema";
import { logger } from "../log";
import { queryRows, timeBound } from "../store/clickhouse";
import { coverageOf } from "./coverage";
import { CoverageIndex, matchActions, type CoverageEntry, type KeyKind, type MatchedPair } from "./matcher";
import { appendPairs, deletePairs, storedPairsOf } from "./pairs";
import type { Publisher } from "./publisher";
import type { RevocationStates } from "./state";
import type { DetectionSettings } from "./types";

/** Revocations derived per scan: one scan serves them all, and the IN lists stay modest. */
const PER_SCAN = 200;

/** Up to this many covered keys, a scan reads per kind of key (see scan()). */
const PER_KIND_SCAN_KEYS = 100;

export interface DerivationDeps {
  writer: ClickHouseClient;
  /** Revocation states on a session (held in memory by the sole writer, lib/detection/state-memory.ts). */
  states: (client: ClickHouseClient) => RevocationStates;
  /** The coverage rows of these revocations as the sole writer holds them (lib/detection/coverage-memory.ts), null to read the table. */
  heldCoverage?: (revocationIds: string[]) => CoverageEntry[] | null;
  /**
   * How long to wait after a round before the next (ms): while ingest catches up on a backlog,
   * requests then gather into fewer, larger rounds (each round pays its scan and reads once).
   */
  pauseAfterRound?: () => number;
  scanner: ClickHouseClient;
  settings: DetectionSettings;
  publisher: Publisher;
  withLock: <T>(fn: () => Promise<T>) => Promise<T>;
  /**
   * Told, under the lock, which revocations' new generations were just committed with which
   * bound, and which of the pairs found were of events stored in the bound's very millisecond.
   */
  onCommitted?: (bounds: Map<string, number>, boundary: { revocation_id: string; event_id: string }[]) => void;
}

type Found = MatchedPair & { ingested_at: number };

/** The events column each kind of covered key is found in. */
const KEY_COLUMN: Record<KeyKind, string> = { agent: "agent_id", session: "session_id", pipeline: "pipeline_id", credential: "credential_id" };

/**
 * Covered actions of the given coverage rows' revocations, stored up to each one's bound (one
 * scan; a pair whose event was stored after its revocation's bound is left to batch detection).
 */
async function scan(client: ClickHouseClient, entries: CoverageEntry[], settings: DetectionSettings, bounds: Map<string, number>): Promise<Found[]> {
  if (entries.length === 0) return [];
  const keys: Partial<Record<KeyKind, Set<string>>> = {};
  let since = entries[0].revoked_at;
  let upTo = -Infinity;
  // One pass, no spread: a round of 200 revocations may cover hundreds of thousands of keys.
  for (const e of entries) {
    (keys[e.key_kind] ??= new Set()).add(e.key);
    if (e.revoked_at < since) since = e.revoked_at;
    upTo = Math.max(upTo, bounds.get(e.revocation_id) ?? Infinity);
  }
  // Agents first: the sorting key finds their rows most precisely.
  const kinds = (Object.keys(KEY_COLUMN) as KeyKind[]).filter((k) => keys[k]);
  const keyCount = kinds.reduce((n, k) => n + keys[k]!.size, 0);
  const params: Record<string, unknown> = { since, ...Object.fromEntries(kinds.map((k) => [k, [...keys[k]!]])) };
  if (Number.isFinite(upTo)) params.upTo = upTo;
  const actionsSince = `type = 'action' AND time > ${timeBound("since")}
    ${Number.isFinite(upTo) ? "AND ingested_at <= fromUnixTimestamp64Milli({upTo:Int64}, 'UTC')" : ""}`;
  const inKeys = (k: KeyKind) => `${KEY_COLUMN[k]} IN {${k}:Array(String)}`;
  // A round of few keys (most rounds while ingest runs) reads per kind of key, one SELECT each
  // joined with UNION ALL, so that each uses its own index: the sorting key for agents, the
  // bloom filters for credentials, sessions and pipelines; each leaves out the rows an earlier
  // one found. One WHERE with an OR across the kinds can use none of them and reads every
  // granule since R, which is cheaper only once the keys are many (a round resuming hundreds
  // of derivations), as the granules they point to are then most of them anyway.
  // Measured on a store bench:scale kept (docs/BENCHMARKS.md), OR against per kind: 4
  // revocations (7 keys) 152 against 67 ms a scan, 20 (40 keys) 224 against 175 ms, 200 (376
  // keys) 773 against 1,025 ms.
  const where =
    keyCount <= PER_KIND_SCAN_KEYS
      ? kinds.map((k, i) => [inKeys(k), ...kinds.slice(0, i).map((earlier) => `NOT ${inKeys(earlier)}`)].join(" AND "))
      : [`(${kinds.map(inKeys).join(" OR ")})`];
  // No FINAL: duplicates of an event are identical and collapse on event_id below, which is
  // far cheaper than merging every part in the range. Grace ≥ 0, so "time > R" prunes parts.
  const rows = await queryRows<StoredEvent & { ingested_at: string }>(
    client,
    "detection:derive:scan",
    where
      .map(
        (w) => `SELECT event_id, type, time, agent_id, pipeline_id, session_id, credential_id, layer, action, resource, decision, sensitivity, ingested_at
     FROM events WHERE ${w} AND ${actionsSince}`,
      )
      .join(" UNION ALL "),
    params,
  );
  // The earliest copy of each event: the one that was stored first.
  const stored = new Map<string, number>();
  const unique = new Map<string, StoredEvent>();
  for (const r of rows) {
    const at = Date.parse(r.ingested_at);
    const earlier = stored.get(r.event_id);
    if (earlier === undefined || at < earlier) {
      stored.set(r.event_id, at);
      unique.set(r.event_id, r);
    }
  }
  return matchActions([...unique.values()], new CoverageIndex(entries), settings)
    .map((p) => ({ ...p, ingested_at: stored.get(p.event_id)! }))
    .filter((p) => p.ingested_at <= (bounds.get(p.revocation_id) ?? Infinity));
}

export class Derivations {
  private readonly log = logger().child({ component: "derivation" });
  /** Revocation → bound of its requested derivation. */
  private readonly pending = new Map<string, number>();
  private readonly failed = new Map<string, number>();
  /** Revocations whose last derivation attempt failed: its commit may have been stored regardless (see derive). */
  private readonly failedBefore = new Set<string>();
  private running: Promise<void> | null = null;
  private stopped = false;
  lastError: string | null = null;

  constructor(private readonly deps: DerivationDeps) {}

  /**
   * Asks for a derivation of the revocation (already marked pending in revocation_state) of
   * the actions stored before `bound` (Date.now() clock; Infinity: all of them). Asked again,
   * it takes the later bound: the newer coverage was written by a later batch.
   */
  request(revocationId: string, bound: number): void {
    const earlier = Math.max(this.pending.get(revocationId) ?? -Infinity, this.failed.get(revocationId) ?? -Infinity);
    this.failed.delete(revocationId);
    this.pending.set(revocationId, Math.max(earlier, bound));
    this.kick();
  }

  /** Moves failed derivations back to the queue. */
  retryFailed(): void {
    for (const [id, bound] of this.failed) this.pending.set(id, Math.max(this.pending.get(id) ?? -Infinity, bound));
    this.failed.clear();
    this.kick();
  }

  pendingCount(): number {
    return this.pending.size;
  }

  failedCount(): number {
    return this.failed.size;
  }

  /** Resolves when no derivation is queued or running (failed ones excepted). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.idle();
  }

  private kick(): void {
    if (this.running || this.stopped || this.pending.size === 0) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      this.kick();
    });
  }

  private async loop(): Promise<void> {
    while (this.pending.size && !this.stopped) {
      const bounds = new Map([...this.pending].slice(0, PER_SCAN));
      const ids = [...bounds.keys()];
      for (const id of ids) this.pending.delete(id);
      try {
        await this.derive(bounds);
        for (const id of ids) this.failedBefore.delete(id);
        if (this.failed.size === 0) this.lastError = null;
      } catch (err) {
        for (const [id, bound] of bounds) {
          this.failed.set(id, bound);
          this.failedBefore.add(id);
        }
        this.lastError = (err as Error).message;
        this.log.error({ revocations: ids.length, first: ids[0], err: this.lastError }, "derivation failed; will retry");
      }
      const pause = this.pending.size < PER_SCAN ? (this.deps.pauseAfterRound?.() ?? 0) : 0;
      if (pause > 0 && !this.stopped) await new Promise((r) => setTimeout(r, pause));
    }
  }

  private async derive(bounds: Map<string, number>): Promise<void> {
    const { scanner, writer, settings } = this.deps;
    const states = await this.deps.states(scanner).get([...bounds.keys()]);
    const due = [...states.values()].filter((s) => s.pending === 1);
    // A failed attempt's commit may have been stored with its answer lost: then the retry finds
    // it committed, and nothing published it. Published again.
    const settled = [...states.values()].filter((s) => s.pending === 0 && this.failedBefore.has(s.revocation_id)).map((s) => s.revocation_id);
    if (settled.length) this.deps.publisher.mark(settled);
    if (due.length === 0) return;
    const generation = new Map(due.map((s) => [s.revocation_id, s.write_generation]));
    const ids = [...generation.keys()];
    const coverage = this.deps.heldCoverage?.(ids) ?? (await coverageOf(scanner, ids));
    const entries = coverage.filter((e) => generation.get(e.revocation_id) === e.generation);
    const found = await scan(scanner, entries, settings, bounds);
    // What is stored already, read before taking the lock: pairs of older generations no longer
    // change (new pairs go to the write generation), and pairs already in the write generation
    // need no second write. The lock then only re-checks what remains.
    const key = (p: { revocation_id: string; event_id: string }) => `${p.revocation_id}\u0000${p.event_id}`;
    const stored = await storedPairsOf(scanner, [...generation.keys()]);
    const inGeneration = new Set(stored.filter((p) => p.generation === generation.get(p.revocation_id)).map(key));
    const keep = new Set(found.map(key));
    const fresh = found.filter((p) => !inGeneration.has(key(p)));
    const gone = stored.filter((p) => p.generation < generation.get(p.revocation_id)! && !keep.has(key(p)));

    await this.deps.withLock(async () => {
      const current = await this.deps.states(writer).get([...generation.keys()]);
      // Coverage changed again while scanning: that revocation waits for the newer request.
      const committing = [...current.values()].filter((s) => s.pending === 1 && s.write_generation === generation.get(s.revocation_id));
      if (committing.length === 0) return;
      const ids = new Set(committing.map((s) => s.revocation_id));
      const pairs = fresh.filter((p) => ids.has(p.revocation_id));
      const stale = gone.filter((p) => ids.has(p.revocation_id));
      // Remembered before anything is written: a batch stored meanwhile must check these pairs.
      this.deps.onCommitted?.(
        new Map(committing.map((s) => [s.revocation_id, bounds.get(s.revocation_id)!])),
        pairs.filter((p) => p.ingested_at === bounds.get(p.revocation_id)),
      );
      await appendPairs(writer, pairs.map(({ ingested_at: _stored, ...pair }) => pair), "detection:derive:pairs");
      await deletePairs(writer, stale);
      const committed = committing.map((s) => ({ ...s, generation: s.write_generation, pending: 0 }));
      await this.deps.states(writer).put(committed);
      // Published by the publisher's next cycle, outside the engine's lock: the batches waiting
      // for the lock do not wait for the publication too (resume() covers a crash in between).
      this.deps.publisher.mark(committed.map((s) => s.revocation_id));
      this.log.debug({ revocations: committed.length, pairs: pairs.length, removed: stale.length }, "derivations committed");
    });
  }
}
