/**
 * The detection engine (docs/SEMANTICS.md for the rules, docs/ARCHITECTURE.md for the design).
 *
 * Coverage is data: the coverage table says which agent / session / pipeline / credential keys
 * each revocation covers and in which window. For every stored batch the engine
 *   1. brings coverage up to date for the revocations and reinstatements in the batch,
 *   2. looks up the coverage rows of the keys the batch mentions (one query),
 *   3. re-prepares revocations whose covered set the batch makes grow,
 *   4. matches the batch's actions against those rows and appends the new pairs (the counters
 *      follow by materialized view), and
 *   5. marks the revocations it touched, whose summaries and alerts the publisher writes from
 *      their counters shortly after, off the batch's path (lib/detection/publisher.ts).
 * So the cost of a batch follows the batch, not the history of what it touches. A revocation
 * whose past changes is derived again from scratch, asynchronously (lib/detection/derivation.ts).
 * Nothing grows in memory with history, and start-up only reloads the pending derivations.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { AlertHistoryEntry } from "../alerts/store";
import { AlertStore } from "../alerts/store";
import type { StoredEvent } from "../events/schema";
import { anyCoverage, coveredCredentials, coverageRows, lookupCoverage, writeCoverage } from "./coverage";
import { Derivations } from "./derivation";
import { CoverageIndex, growingRevocations, keysOf, matchActions } from "./matcher";
import { appendPairs } from "./pairs";
import { Publisher } from "./publisher";
import { initialState, RevocationStates, type RevocationState } from "./state";
import type { DetectionSettings } from "./types";

export interface EngineOptions {
  /** A second ClickHouse session for derivation scans, so they do not hold up ingest. Defaults to the client. */
  scanner?: ClickHouseClient;
  /** The session summaries and alerts are published on (lib/detection/publisher.ts). Defaults to the client. */
  publisher?: ClickHouseClient;
  /** How long touched revocations gather before they are published (ms, default 100). */
  publishGatherMs?: number;
  /** Coalescing of count-only alert updates (lib/alerts/store.ts); 0 announces every change. */
  updateIntervalMs?: number;
  /**
   * Called with a revocation's id and the credential keys of its rewritten coverage rows, after
   * the rewrite and before it is recorded in revocation_state, inside the batch: a failure fails
   * the batch, which is retried (the covered-credentials feed, lib/feed/).
   */
  onCoverageChanged?: (revocationIds: string[], credentials: string[]) => Promise<void>;
}

const enginesKey = Symbol.for("revenant.detectionEngines");
type WithEngines = typeof globalThis & { [enginesKey]?: Set<DetectionEngine> };
function runningEngines(): Set<DetectionEngine> {
  const g = globalThis as WithEngines;
  g[enginesKey] ??= new Set();
  return g[enginesKey]!;
}

/** For tests and benchmarks in the worker's process: resolves when every running engine is idle. */
export async function detectionIdle(): Promise<void> {
  for (const engine of runningEngines()) await engine.idle();
}

export class DetectionEngine {
  private readonly publisher: Publisher;
  private readonly states: RevocationStates;
  private readonly derivations: Derivations;
  /** Serialises batches and derivation commits: both read and write pairs and coverage. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether any revocation exists yet: while none does, a batch needs no lookup at all. */
  private hasCoverage = false;
  private readonly updateIntervalMs: number;
  private lastOwedCheck = 0;
  private readonly onCoverageChanged: (revocationIds: string[], credentials: string[]) => Promise<void>;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly settings: DetectionSettings,
    private readonly onAlertChanges: (changes: AlertHistoryEntry[]) => void = () => {},
    options: EngineOptions = {},
  ) {
    this.updateIntervalMs = options.updateIntervalMs ?? 0;
    const publishOn = options.publisher ?? client;
    this.publisher = new Publisher({
      client: publishOn,
      alerts: new AlertStore(publishOn, { updateIntervalMs: this.updateIntervalMs }),
      onAlertChanges,
      gatherMs: options.publishGatherMs,
    });
    this.states = new RevocationStates(client);
    this.onCoverageChanged = options.onCoverageChanged ?? (async () => {});
    this.derivations = new Derivations({
      writer: client,
      scanner: options.scanner ?? client,
      settings,
      publisher: this.publisher,
      withLock: (fn) => this.withLock(fn),
    });
  }

  /** Resumes from persisted state: pending derivations and owed publications only, no sweep. */
  async start(): Promise<void> {
    this.hasCoverage = await anyCoverage(this.client);
    for (const id of await this.states.pendingIds()) this.derivations.request(id);
    await this.publisher.resume();
    runningEngines().add(this);
  }

  async stop(): Promise<void> {
    runningEngines().delete(this);
    await this.derivations.stop();
    await this.queue;
    await this.publisher.stop();
  }

  /** Evaluates a stored batch. Throws when ClickHouse fails: the caller retries the batch (idempotent). */
  onEvents(events: StoredEvent[]): Promise<void> {
    return this.withLock(() => this.evaluateBatch(events));
  }

  /**
   * Retries failed derivations and announces owed alert updates (called every second). Owed
   * updates are looked for every sixth of the interval (1–5 s): an update is owed at most
   * that much longer than the interval, and the look-up stays off ingest's session most ticks.
   */
  async tick(): Promise<void> {
    this.derivations.retryFailed();
    const now = Date.now();
    if (now - this.lastOwedCheck < Math.min(5_000, Math.max(1_000, this.updateIntervalMs / 6))) return;
    this.lastOwedCheck = now;
    await this.publisher.flushOwedUpdates();
  }

  /** For tests and benchmarks: resolves when every requested derivation has run and its results are published. */
  async idle(): Promise<void> {
    await this.queue;
    await this.derivations.idle();
    await this.queue;
    await this.publisher.idle();
  }

  /** Retries failed derivations now and waits for them (tests; the worker's tick retries every second). */
  async retryFailed(): Promise<void> {
    this.derivations.retryFailed();
    await this.derivations.idle();
    await this.publisher.idle();
  }

  failedCount(): number {
    return this.derivations.failedCount();
  }

  pendingCount(): number {
    return this.derivations.pendingCount();
  }

  get lastError(): string | null {
    return this.derivations.lastError ?? this.publisher.lastError;
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private async evaluateBatch(events: StoredEvent[]): Promise<void> {
    const revocations = events.filter((e) => e.type === "revocation" && e.rev_scope !== "");
    const reinstatements = events.filter((e) => e.type === "reinstatement" && e.rev_scope !== "");
    // While no revocation exists, a batch needs no lookup. The flag is re-read from the table
    // (a one-row query) rather than trusted from memory: another worker sharing the store may
    // have written the first coverage since.
    if (!this.hasCoverage && revocations.length === 0) {
      this.hasCoverage = await anyCoverage(this.client);
      if (!this.hasCoverage) return;
    }

    await this.prepareNewRevocations(revocations);
    await this.applyReinstatements(reinstatements);

    const keys = keysOf(events);
    let index = new CoverageIndex(await lookupCoverage(this.client, keys));
    const growing = growingRevocations(events, index);
    if (growing.size) {
      const states = await this.states.get([...growing]);
      await this.prepare([...states.values()].map((s) => ({ state: s, changes: {} })));
      index = new CoverageIndex(await lookupCoverage(this.client, keys));
    }

    const pairs = matchActions(events, index, this.settings);
    if (pairs.length === 0) return;
    await appendPairs(this.client, pairs);
    // Every touched revocation is published, also when its pairs were already stored: a batch
    // redelivered after a crash then finishes what the crash interrupted.
    this.publisher.mark(pairs.map((p) => p.revocation_id));
  }

  private async prepareNewRevocations(revocations: StoredEvent[]): Promise<void> {
    if (revocations.length === 0) return;
    const known = await this.states.get(revocations.map((r) => r.event_id));
    // Redelivered revocations are skipped: their derivation is done or pending.
    const fresh = new Map<string, RevocationState>();
    for (const r of revocations) if (!known.has(r.event_id)) fresh.set(r.event_id, initialState(r));
    if (fresh.size === 0) return;
    const ends = await this.states.windowEnds([...fresh.values()]);
    await this.prepare([...fresh.values()].map((s) => ({ state: s, changes: { reinstated_at: ends.get(s.revocation_id) ?? null } })));
  }

  /** A reinstatement ends the window of each revocation of its subject whose first later reinstatement it now is. */
  private async applyReinstatements(reinstatements: StoredEvent[]): Promise<void> {
    if (reinstatements.length === 0) return;
    const ids = await this.states.revocationsOfSubjects(
      reinstatements.map((r) => ({ scope: r.rev_scope, subject: r.rev_subject, before: r.time })),
    );
    const states = [...(await this.states.get(ids)).values()];
    const ends = await this.states.windowEnds(states);
    await this.prepare(
      states
        .filter((s) => ends.get(s.revocation_id) !== s.reinstated_at)
        .map((s) => ({ state: s, changes: { reinstated_at: ends.get(s.revocation_id) ?? null } })),
    );
  }

  /**
   * Rewrites revocations' coverage in a new generation each (window and covered set as the
   * stored data now say), marks them pending and asks for their derivation. A few queries for
   * any number of revocations. Coverage is written before the states, so a crash in between
   * is repaired when the batch is delivered again.
   */
  private async prepare(items: { state: RevocationState; changes: Partial<RevocationState> }[]): Promise<void> {
    if (items.length === 0) return;
    const next: RevocationState[] = items.map(({ state, changes }) => ({
      ...state,
      ...changes,
      write_generation: Math.max(state.generation, state.write_generation) + 1,
      pending: 1,
    }));
    const covered = await coveredCredentials(this.client, next);
    const rows = next.flatMap((s) => coverageRows(s, covered.get(s.revocation_id)!));
    await writeCoverage(this.client, rows);
    // The covered-credentials feed (lib/feed/publisher.ts) follows inside the batch: a failed
    // publish fails the batch, which is then retried.
    await this.onCoverageChanged(next.map((s) => s.revocation_id), [...new Set(rows.filter((r) => r.key_kind === "credential").map((r) => r.key))]);
    await this.states.put(next);
    this.hasCoverage = true;
    for (const s of next) this.derivations.request(s.revocation_id);
  }
}
