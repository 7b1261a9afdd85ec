/**
 * The detection engine (docs/SEMANTICS.md for the rules, docs/ARCHITECTURE.md for the design).
 *
 * Coverage is data: the coverage table says which agent / session / pipeline / credential keys
 * each revocation covers and in which window. For every stored batch the engine
 *   1. finds the coverage rows of the keys the batch mentions (the sole writer holds the whole
 *      table in memory and asks it per key; else one query), which tell the revocations whose
 *      covered set the batch makes grow,
 *   2. brings coverage up to date, in one prepare, for those and for the revocations and
 *      reinstatements in the batch, and looks the batch's keys up again if it did,
 *   3. matches the batch's actions against those rows and appends the new pairs (the counters
 *      follow by materialized view), and
 *   4. marks the revocations it touched, whose summaries and alerts the publisher writes from
 *      their counters shortly after, off the batch's path (lib/detection/publisher.ts).
 * So the cost of a batch follows the batch, not the history of what it touches. A revocation
 * whose past changes is derived again from scratch, asynchronously (lib/detection/derivation.ts);
 * a new one that nothing stored acted after needs no derivation (lib/detection/latest-actions.ts).
 * Nothing grows in memory with events: the sole writer holds coverage, revocation states and
 * when each agent and credential last acted (one row per covered key, one state per revocation,
 * one time per key, each capped), and start-up reloads the first two and the pending derivations.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { AlertHistoryEntry } from "../alerts/store";
import { AlertStore } from "../alerts/store";
import type { StoredEvent } from "../events/schema";
import { logger } from "../log";
import { coverageKinds, coveredCredentials, coverageRows, lookupCoverage, writeCoverage } from "./coverage";
import { CoverageMemory } from "./coverage-memory";
import { Derivations } from "./derivation";
import { LatestActions, latestStoredTime } from "./latest-actions";
import { CoverageIndex, growingRevocations, keysOf, matchActions, type CoverageEntry, type CoverageLookup, type KeyKind, type MatchedPair } from "./matcher";
import { appendPairs } from "./pairs";
import { noPreparations, type ChangeReason, type PreparedCounts } from "./prepared-counts";
import { Publisher } from "./publisher";
import { initialState, RevocationStates, type RevocationState } from "./state";
import { StateMemory } from "./state-memory";
import type { DetectionSettings } from "./types";

/**
 * A stored event handed to detection. `stored_before: false` says ingest knows this event_id was
 * first stored by this very batch (ingest/first-copies.ts), so no earlier pass can have matched
 * it; anything else (a redelivery, a retried evaluation, unknown) may have pairs already.
 */
export type BatchEvent = StoredEvent & { stored_before?: boolean };

export interface BatchContext {
  /**
   * When the batch's store began (Date.now(), the clock ClickHouse stamps `ingested_at` with in
   * embedded mode). Batches are stored and evaluated in order, so every event stored earlier
   * belongs to a batch evaluated earlier: a derivation prepared by this batch takes those
   * events, and this batch and later ones take the rest (see `soleWriter`).
   */
  storedAt?: number;
  /**
   * Ingest is working through a backlog (its flushes are full): the publisher paces its cycles
   * and derivations gather into fewer rounds, to leave CPU to ingest (backlogPauseMs). With live
   * traffic both run at once.
   */
  catchingUp?: boolean;
}

export interface EngineOptions {
  /** A second ClickHouse session for derivation scans, so they do not hold up ingest. Defaults to the client. */
  scanner?: ClickHouseClient;
  /** The session summaries and alerts are published on (lib/detection/publisher.ts). Defaults to the client. */
  publisher?: ClickHouseClient;
  /** How long touched revocations gather before they are published (ms, default 20). */
  publishGatherMs?: number;
  /**
   * While ingest catches up on a backlog, the least time between publisher cycles, and the pause
   * after a derivation round that left fewer than a full round pending (ms,
   * DETECTION_BACKLOG_PAUSE_MS; default 0).
   */
  backlogPauseMs?: number;
  /**
   * This engine is the only one writing detection's tables (embedded mode: one process owns the
   * data directory). Then a derivation prepared by a batch scans only events stored before that
   * batch's store began (its bound), and a pair of an event first stored by a later batch cannot
   * be stored yet: it is appended without asking the table. Several workers sharing a server
   * derive without a bound and check every pair.
   */
  soleWriter?: boolean;
  /** Coalescing of count-only alert updates (lib/alerts/store.ts); 0 announces every change. */
  updateIntervalMs?: number;
  /**
   * Whether tick() announces the coalesced updates owed by every worker (default true). With
   * several workers, one does (REVENANT_DELIVERY): each would announce the same ones again.
   */
  announcesOwedUpdates?: boolean;
  /**
   * Called with the ids of revocations whose coverage was rewritten, the credential keys of
   * their rows and those of them that are session revocations in force, after the rewrite and
   * before it is recorded in revocation_state, inside the batch: a failure fails the batch,
   * which is retried (the covered-credentials feed, lib/feed/, and the SETs of the SSF
   * transmitter, lib/transmitter/).
   */
  onCoverageChanged?: (revocationIds: string[], credentials: string[], sessions: SessionRevocation[]) => Promise<void>;
}

/** A session revocation in force whose coverage was rewritten (told to onCoverageChanged). */
export interface SessionRevocation {
  revocation_id: string;
  /** The session id. */
  subject: string;
  revoked_at: string;
}

/** A revocation whose coverage a batch rewrites, why, and what changes in its state. */
type RevocationChange = { state: RevocationState; changes: Partial<RevocationState>; reason: ChangeReason };

/** How long derivation bounds are remembered for soleWriter's shortcut (a batch older than this checks every pair). */
const COMMIT_MEMORY_MS = 10 * 60_000;

/** How often an engine that shares the store looks for prepares another worker's crash cut short. */
const REPAIR_CHECK_MS = 60_000;

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
  /**
   * The key kinds coverage has rows of. While there is none, a batch needs no lookup; a kind
   * without rows (no session was ever revoked, say) is left out of the lookup.
   */
  private kinds = new Set<KeyKind>();
  private readonly updateIntervalMs: number;
  private readonly announcesOwedUpdates: boolean;
  private lastOwedCheck = 0;
  private readonly soleWriter: boolean;
  /** The coverage table in memory, so a batch needs no lookup (sole writer only: another worker may write coverage). */
  private readonly coverage: CoverageMemory | null;
  /** Revocation states in memory, shared by batches, derivations and the publisher (sole writer only, like coverage). */
  private readonly stateMemory: StateMemory | null;
  /**
   * When each agent and credential last acted in the batches evaluated so far, so that a new
   * revocation with nothing stored after it needs no derivation (sole writer only, from start()).
   */
  private latest: LatestActions | null = null;
  /**
   * The bound (Date.now()) of each revocation's derivations committed in the last
   * COMMIT_MEMORY_MS: events stored before it may have pairs from the derivation.
   */
  private readonly recentCommits = new Map<string, number>();
  /**
   * Pairs committed by derivations whose events were stored in the bound's very millisecond,
   * which a later batch may hold too (a few, remembered like recentCommits).
   */
  private readonly boundaryPairs = new Map<string, number>();
  private lastEvaluationFailed = false;
  /** The last batch's BatchContext.catchingUp: publications and derivations then gather (backlogPauseMs). */
  private catchingUp = false;
  /** Bounds before this instant are forgotten: a batch stored earlier checks every pair. */
  private commitsKnownSince = Date.now();
  private readonly onCoverageChanged: NonNullable<EngineOptions["onCoverageChanged"]>;
  private readonly prepared = noPreparations();
  /**
   * Revocations whose coverage may be rewritten without their state recording it: a prepare
   * that failed after writing coverage (a failed feed publish or state write), or one a crash
   * cut short (found at start, and by every REPAIR_CHECK_MS on a shared server, where another
   * worker may have crashed). Their coverage already names what they gained, so the batch
   * delivered again sees no growth: they are prepared again, in a new generation and derived
   * ("repaired"), by the next batch or tick.
   */
  private readonly unsettled = new Set<string>();
  private lastRepairCheck = Date.now();
  /** What the last look for cut-short prepares found (shared server: see lookForCutShort). */
  private aheadBefore = new Set<string>();
  private repairError: string | null = null;
  private readonly log = logger().child({ component: "detection" });

  constructor(
    private readonly client: ClickHouseClient,
    private readonly settings: DetectionSettings,
    private readonly onAlertChanges: (changes: AlertHistoryEntry[]) => void = () => {},
    options: EngineOptions = {},
  ) {
    this.updateIntervalMs = options.updateIntervalMs ?? 0;
    this.announcesOwedUpdates = options.announcesOwedUpdates ?? true;
    this.soleWriter = options.soleWriter ?? false;
    this.coverage = this.soleWriter ? new CoverageMemory() : null;
    this.stateMemory = this.soleWriter ? new StateMemory() : null;
    const publishOn = options.publisher ?? client;
    this.publisher = new Publisher({
      client: publishOn,
      alerts: new AlertStore(publishOn, { updateIntervalMs: this.updateIntervalMs }),
      onAlertChanges,
      gatherMs: options.publishGatherMs,
      catchingUp: () => this.catchingUp,
      backlogIntervalMs: options.backlogPauseMs,
      stateMemory: this.stateMemory,
    });
    this.states = new RevocationStates(client, this.stateMemory);
    this.onCoverageChanged = options.onCoverageChanged ?? (async () => {});
    this.derivations = new Derivations({
      writer: client,
      states: (session) => new RevocationStates(session, this.stateMemory),
      heldCoverage: (ids) => this.coverage?.ofRevocations(ids) ?? null,
      pauseAfterRound: () => (this.catchingUp ? (options.backlogPauseMs ?? 0) : 0),
      scanner: options.scanner ?? client,
      settings,
      publisher: this.publisher,
      withLock: (fn) => this.withLock(fn),
      onCommitted: (commits, boundary) => this.rememberCommits(commits, boundary),
    });
  }

  /** Resumes from persisted state: pending derivations and owed publications only, no sweep. */
  async start(): Promise<void> {
    this.kinds = await coverageKinds(this.client);
    await this.coverage?.load(this.client);
    await this.stateMemory?.load(this.client);
    if (this.soleWriter) this.latest = new LatestActions(await latestStoredTime(this.client));
    // Everything stored so far was stored before this start: a resumed derivation takes it all.
    const bound = this.derivationBound(Date.now());
    for (const id of await this.states.pendingIds()) this.derivations.request(id, bound);
    await this.lookForCutShort();
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
  onEvents(events: BatchEvent[], context: BatchContext = {}): Promise<void> {
    return this.withLock(async () => {
      try {
        await this.evaluateBatch(events, context);
        this.lastEvaluationFailed = false;
      } catch (err) {
        this.lastEvaluationFailed = true;
        throw err;
      } finally {
        // Taken in after the batch, failed or not: everything stored before a batch's store
        // began belongs to batches evaluated before it (see `soleWriter`), and a batch's own
        // actions are its own to match. (A retry then counts its own actions too, which only
        // asks for more derivations.)
        this.latest?.fold(events);
      }
    });
  }

  /**
   * Retries failed derivations and announces owed alert updates (called every second). Owed
   * updates are looked for every sixth of the interval (1–5 s): an update is owed at most
   * that much longer than the interval, and the look-up stays off ingest's session most ticks.
   */
  async tick(): Promise<void> {
    this.derivations.retryFailed();
    // A repair failing (the feed's broker still down, say) is retried next tick; it must not
    // hold back the owed alert updates below.
    try {
      await this.repairUnsettled();
      this.repairError = null;
    } catch (err) {
      this.repairError = (err as Error).message;
      this.log.warn({ err: this.repairError, unsettled: this.unsettled.size }, "repair of unsettled revocations failed; will retry");
    }
    const now = Date.now();
    if (!this.announcesOwedUpdates) return;
    if (now - this.lastOwedCheck < Math.min(5_000, Math.max(1_000, this.updateIntervalMs / 6))) return;
    this.lastOwedCheck = now;
    await this.publisher.flushOwedUpdates();
  }

  /**
   * Prepares again the revocations left unsettled (see `unsettled`) while no batch comes to do
   * it; on a shared server, first looks for more every REPAIR_CHECK_MS.
   */
  private async repairUnsettled(): Promise<void> {
    if (!this.soleWriter && Date.now() - this.lastRepairCheck >= REPAIR_CHECK_MS) {
      this.lastRepairCheck = Date.now();
      await this.lookForCutShort();
    }
    if (this.unsettled.size === 0) return;
    await this.withLock(async () => {
      const items = await this.changedRevocations([], [], new Set());
      // Derived from everything stored so far: batches evaluated before this had the coverage it replaces.
      this.publisher.mark(await this.prepare(items, Infinity));
    });
  }

  /**
   * Revocations whose coverage is ahead of their state (RevocationStates.coverageAhead). The
   * sole writer has no prepare of another process in flight: each is unsettled at once. On a
   * shared server, one may be another worker's prepare between its two writes: only those found
   * again by the next look (REPAIR_CHECK_MS later) are unsettled.
   */
  private async lookForCutShort(): Promise<void> {
    const ahead = await this.states.coverageAhead();
    for (const id of ahead) if (this.soleWriter || this.aheadBefore.has(id)) this.unsettled.add(id);
    this.aheadBefore = new Set(ahead);
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

  /** Revocations prepared since start, by outcome (a copy). */
  preparedCounts(): PreparedCounts {
    return { committedAtOnce: { ...this.prepared.committedAtOnce }, derived: { ...this.prepared.derived } };
  }

  get lastError(): string | null {
    return this.derivations.lastError ?? this.publisher.lastError ?? this.repairError;
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** The bound a derivation prepared now gets: none unless this engine writes alone. */
  private derivationBound(storedAt: number | undefined): number {
    return this.soleWriter && storedAt !== undefined ? storedAt : Infinity;
  }

  private rememberCommits(commits: Map<string, number>, boundary: { revocation_id: string; event_id: string }[]): void {
    const now = Date.now();
    for (const [id, bound] of commits) this.recentCommits.set(id, Math.max(this.recentCommits.get(id) ?? -Infinity, bound));
    for (const p of boundary) this.boundaryPairs.set(`${p.revocation_id}\u0000${p.event_id}`, commits.get(p.revocation_id)!);
    if (now - this.commitsKnownSince > 2 * COMMIT_MEMORY_MS) {
      this.commitsKnownSince = now - COMMIT_MEMORY_MS;
      for (const [id, at] of this.recentCommits) if (at < this.commitsKnownSince) this.recentCommits.delete(id);
      for (const [key, at] of this.boundaryPairs) if (at < this.commitsKnownSince) this.boundaryPairs.delete(key);
    }
  }

  /**
   * Which of a batch's pairs may be stored already, so that appendPairs asks the table about
   * those only (see `soleWriter`): pairs of events stored before this batch, pairs of
   * revocations a derivation committed with a bound after the batch's store began (its scan
   * took events stored before the bound), and the few a derivation took from the bound's
   * millisecond itself.
   */
  private mayBeStored(events: BatchEvent[], context: BatchContext): ((p: MatchedPair) => boolean) | undefined {
    const storedAt = context.storedAt;
    // After a failed evaluation (its pairs may be partly stored) the next one, its retry, checks every pair.
    if (!this.soleWriter || this.lastEvaluationFailed || storedAt === undefined || storedAt < this.commitsKnownSince) return undefined;
    const repeated = new Set(events.filter((e) => e.stored_before !== false).map((e) => e.event_id));
    return (p) =>
      repeated.has(p.event_id) ||
      (this.recentCommits.get(p.revocation_id) ?? -Infinity) > storedAt ||
      this.boundaryPairs.has(`${p.revocation_id}\u0000${p.event_id}`);
  }

  private async evaluateBatch(events: BatchEvent[], context: BatchContext): Promise<void> {
    this.catchingUp = context.catchingUp ?? false;
    const revocations = events.filter((e) => e.type === "revocation" && e.rev_scope !== "");
    const reinstatements = events.filter((e) => e.type === "reinstatement" && e.rev_scope !== "");
    // Kinds are re-read from the table (a few rows) unless this engine writes all coverage
    // itself: another worker sharing the store may have written new ones.
    if (!this.soleWriter || this.kinds.size === 0) {
      this.kinds = await coverageKinds(this.client);
      if (this.kinds.size === 0 && revocations.length === 0) return;
    }

    const bound = this.derivationBound(context.storedAt);
    // The coverage of the batch's keys: the table held in memory when this engine writes all
    // coverage (prepare keeps it current), else the rows of the keys the batch mentions (of
    // the kinds coverage has), looked up again after a prepare, which may cover more.
    const lookup = async (): Promise<CoverageLookup> => {
      if (this.coverage?.active) return this.coverage;
      const mentioned = keysOf(events, this.kinds);
      return new CoverageIndex(await lookupCoverage(this.client, mentioned));
    };
    let index = await lookup();
    // Earlier revocations whose covered set this batch makes grow. The batch's own new
    // revocations need no such check: the batch is stored, so their root sets and lineage,
    // read when they are prepared, include its credentials already.
    const growing = growingRevocations(events, index);
    const items = await this.changedRevocations(revocations, reinstatements, growing);
    let committed: string[] = [];
    let pairs: MatchedPair[] = [];
    try {
      if (items.length) {
        committed = await this.prepare(items, bound);
        index = await lookup();
      }
      pairs = matchActions(events, index, this.settings);
      if (pairs.length) await appendPairs(this.client, pairs, "detection:pairs:append", this.mayBeStored(events, context));
    } catch (err) {
      // Committed without a derivation (which would have marked them), and recorded: the retry
      // finds them known and prepares nothing, so they are published from here.
      this.publisher.mark(committed);
      throw err;
    }
    // Every touched revocation is published, also when its pairs were already stored: a batch
    // redelivered after a crash then finishes what the crash interrupted. So is every one
    // committed without a derivation, once, with the batch's pairs.
    this.publisher.mark([...committed, ...pairs.map((p) => p.revocation_id)]);
  }

  /**
   * What the batch changes, for one prepare: its new revocations (a redelivered one is skipped:
   * its derivation is done or pending), the revocations of the subjects it reinstates whose
   * window end moves (the first reinstatement after R ends the window), the growing ones, and
   * the unsettled ones (see `unsettled`; one known to no state is left to the batch holding it).
   * One prepare per batch: its root-set and lineage walks, coverage write and state write
   * are paid once, whatever mix of changes the batch holds.
   */
  private async changedRevocations(
    revocations: StoredEvent[],
    reinstatements: StoredEvent[],
    growing: Set<string>,
  ): Promise<RevocationChange[]> {
    if (revocations.length === 0 && reinstatements.length === 0 && growing.size === 0 && this.unsettled.size === 0) return [];
    const reinstated = reinstatements.length
      ? await this.states.revocationsOfSubjects(reinstatements.map((r) => ({ scope: r.rev_scope, subject: r.rev_subject, before: r.time })))
      : [];
    const known = await this.states.get([...new Set([...revocations.map((r) => r.event_id), ...reinstated, ...growing, ...this.unsettled])]);
    const fresh = new Map<string, RevocationState>();
    for (const r of revocations) if (!known.has(r.event_id)) fresh.set(r.event_id, initialState(r));
    const moved = reinstated.filter((id) => known.has(id)).map((id) => known.get(id)!);
    for (const id of this.unsettled) if (!known.has(id)) this.unsettled.delete(id);
    // A repair takes its window end from the data too: its state may predate a reinstatement
    // that another worker's prepare (or the one cut short) was recording.
    const repaired = [...this.unsettled].filter((id) => !fresh.has(id)).map((id) => known.get(id)!);
    const ends = await this.states.windowEnds([...fresh.values(), ...moved, ...repaired]);
    const items = new Map<string, RevocationChange>();
    for (const s of fresh.values()) items.set(s.revocation_id, { state: s, changes: { reinstated_at: ends.get(s.revocation_id) ?? null }, reason: "new" });
    for (const s of moved) {
      const end = ends.get(s.revocation_id) ?? null;
      if (end !== s.reinstated_at) items.set(s.revocation_id, { state: s, changes: { reinstated_at: end }, reason: "reinstated" });
    }
    for (const id of growing) {
      const s = known.get(id);
      if (s && !items.has(id)) items.set(id, { state: s, changes: {}, reason: "grown" });
    }
    for (const s of repaired) items.set(s.revocation_id, { state: s, changes: { reinstated_at: ends.get(s.revocation_id) ?? null }, reason: "repaired" });
    return [...items.values()];
  }

  /**
   * Rewrites revocations' coverage in a new generation each (window and covered set as the
   * stored data now say), marks them pending and asks for their derivation. A few queries for
   * any number of revocations. Coverage is written before the states; a failure or crash in
   * between leaves the revocation unsettled (see `unsettled`): the next batch or tick prepares
   * it again (a batch delivered again would not: its growth is already in the coverage, and a
   * new revocation is prepared again from the batch that holds it). `bound`: the derivation takes the events
   * stored before it (Infinity: all), this batch and later ones the others.
   *
   * Changes need no derivation when nothing stored acted where they change what is covered
   * (lib/detection/latest-actions.ts): a new revocation none of whose keys acted after R,
   * whose first generation is then committed here; and a committed revocation whose covered
   * set grew by keys that did not act after R, or whose open window now ends at an L no key
   * it covers acted after (nothingOwed). Its stored pairs are then exactly its pairs, and the
   * batch path finds the rest, so it keeps its generation (no pair rewritten). Their ids are
   * returned for publishing (evaluateBatch marks them with the batch's pairs, or at once when
   * the rest of the batch fails).
   */
  private async prepare(items: RevocationChange[], bound: number): Promise<string[]> {
    if (items.length === 0) return [];
    const mayKeep = items.map(({ state, reason }) => this.mayKeepGeneration(state, reason));
    const prepared = items.map(({ state, changes }, i) => ({
      ...state,
      ...changes,
      write_generation: mayKeep[i] ? state.generation : Math.max(state.generation, state.write_generation) + 1,
    }));
    const covered = await coveredCredentials(this.client, prepared);
    const rowsOf = new Map<string, CoverageEntry[]>(prepared.map((s) => [s.revocation_id, coverageRows(s, covered.get(s.revocation_id)!)]));
    const next: RevocationState[] = prepared.map((s, i) => {
      const { state } = items[i];
      if (mayKeep[i]) {
        if (this.nothingOwed(state, s, rowsOf.get(s.revocation_id)!)) return { ...s, pending: 0 };
        const derived = { ...s, write_generation: state.generation + 1 };
        rowsOf.set(s.revocation_id, coverageRows(derived, covered.get(s.revocation_id)!));
        return { ...derived, pending: 1 };
      }
      const nothingToFind = state.generation === 0 && state.write_generation === 0 && this.latest?.noneAfter(rowsOf.get(s.revocation_id)!, s.revoked_at);
      return nothingToFind ? { ...s, generation: s.write_generation, pending: 0 } : { ...s, pending: 1 };
    });
    const rows = [...rowsOf.values()].flat();
    // Unsettled from the coverage write until the state records it (see `unsettled`).
    for (const s of next) this.unsettled.add(s.revocation_id);
    const version = await writeCoverage(this.client, rows);
    this.coverage?.add(rows, version);
    // The covered-credentials feed (lib/feed/publisher.ts) follows inside the batch: a failed
    // publish fails the batch, which is then retried.
    await this.onCoverageChanged(
      next.map((s) => s.revocation_id),
      [...new Set(rows.filter((r) => r.key_kind === "credential").map((r) => r.key))],
      next.filter((s) => s.scope === "session" && s.reinstated_at === null).map((s) => ({ revocation_id: s.revocation_id, subject: s.subject, revoked_at: s.revoked_at })),
    );
    await this.states.put(next);
    for (const s of next) this.unsettled.delete(s.revocation_id);
    for (const r of rows) this.kinds.add(r.key_kind);
    for (const s of next) if (s.pending) this.derivations.request(s.revocation_id, bound);
    next.forEach((s, i) => {
      if (s.pending) this.prepared.derived[items[i].reason]++;
      else this.prepared.committedAtOnce[items[i].reason]++;
    });
    return next.filter((s) => !s.pending).map((s) => s.revocation_id);
  }

  /**
   * Whether a revocation's change may keep its generation: its covered set grew or its window
   * ended earlier (pairs can only be gained, or only lost; a repair may have lost what it
   * gained: its coverage memory already holds it), its generation is committed with
   * no derivation owed, and this engine knows when keys last acted and holds the coverage it
   * had (sole writer).
   */
  private mayKeepGeneration(state: RevocationState, reason: ChangeReason): boolean {
    return (
      reason !== "new" &&
      reason !== "repaired" &&
      this.latest !== null &&
      this.coverage?.active === true &&
      state.generation > 0 &&
      state.pending === 0 &&
      state.write_generation === state.generation
    );
  }

  /**
   * Whether the stored pairs of a committed revocation stay exactly its pairs under its new
   * coverage rows: no key it gains acted after R (no pair is owed), and, when its open window
   * now ends at L, no key it covers acted after L (no stored pair lies past the end). A window
   * whose end moves otherwise is derived.
   */
  private nothingOwed(before: RevocationState, next: RevocationState, rows: CoverageEntry[]): boolean {
    const latest = this.latest!;
    if (!latest.noneAfter(this.gainedRows(rows), next.revoked_at)) return false;
    if (next.reinstated_at === before.reinstated_at) return true;
    return before.reinstated_at === null && next.reinstated_at !== null && latest.noneAfter(rows, next.reinstated_at);
  }

  /** The rows among a revocation's new coverage rows whose key it did not cover before. */
  private gainedRows(rows: CoverageEntry[]): CoverageEntry[] {
    if (rows.length === 0) return rows;
    const held = new Set((this.coverage!.ofRevocations([rows[0].revocation_id]) ?? []).map((e) => `${e.key_kind}\u0000${e.key}`));
    return rows.filter((r) => !held.has(`${r.key_kind}\u0000${r.key}`));
  }
}
