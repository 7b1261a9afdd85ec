/**
 * Gathers decoded rows from the partition batches kafkajs hands over and writes them to
 * ClickHouse in as few inserts as the load allows, overlapping decoding with writing.
 *
 * A flush passes three stages, each one flush at a time and in flush order:
 *   prepare  which rows are first copies (ingest/first-copies.ts: a key lookup),
 *   store    the insert and the dead letters (the `writer` session),
 *   detect   detection on what was stored (the `detector` session).
 * The stages of consecutive flushes overlap: while flush k is stored, flush k+1 is prepared and
 * flush k-1 detected, so ingest waits for the slowest stage instead of the sum of all three.
 * A stage hands over only when the next one is free, so at most one flush waits in each.
 * While ingest catches up on a backlog (`gather`), detection instead waits for up to a few
 * stored flushes and evaluates them at once, so that its fixed costs per evaluation (lookups,
 * the coverage prepare, the pairs append, writes) are paid once for all of them.
 *
 * A flush is taken once rows are waiting and either no flush is being stored or a full one
 * (INGEST_BATCH_SIZE rows) is waiting: under light load every fetch is written at once (low
 * latency for detection); under heavy load rows pile up while a flush is stored, so inserts
 * grow by themselves to INGEST_BATCH_SIZE (few large inserts: what ClickHouse wants, and few
 * detections). Taken as soon as the previous flush had moved on to its store, flushes shrank
 * once preparing one became fast, and the same rows cost more inserts and detections
 * (npm run bench:scale). Small inserts are limited upstream too: the consumer asks the broker
 * to hold a fetch until it has 64 KiB or INGEST_FLUSH_MS passed.
 *
 * add() resolves when the rows were handed over, and waits (back-pressure) while a full flush
 * is queued (see full()). The returned `stored` promise settles when those rows
 * are stored and detection has run on them, which is when their offsets may be committed.
 */
import type { DeadLetter } from "./dead-letters";
import type { EventRow } from "./event-writer";

export interface Flush {
  rows: EventRow[];
  letters: DeadLetter[];
}

export interface FlushStages<P, T> {
  /** Prepares a flush (beside the previous flush's store). */
  prepare: (f: Flush) => Promise<P>;
  /** Stores a prepared flush; its result is what detection runs on. */
  store: (prepared: P) => Promise<T>;
  /** Runs after the flush's store, beside the next flush's store. */
  detect: (stored: T) => Promise<void>;
  /**
   * Optional: whether flushes stored while ingest catches up should wait for detection to
   * take several at once (asked of each flush waiting for detection), and how to make one
   * detection input of several stored flushes, in order. Without it every flush is detected
   * on its own.
   */
  gather?: { wanted: (stored: T) => boolean; merge: (stored: T[]) => T; upTo: number };
}

type Settle = { resolve: () => void; reject: (e: unknown) => void };

/**
 * Where the stages spent their time since the batcher was made, in ms: what tells a stage that
 * holds the others back (npm run bench:scale prints it). On 2 cores a stage that waits leaves a
 * core idle unless another stage fills it.
 */
export interface StageTimes {
  /** Writing flushes (the store stage busy). */
  storing: number;
  /** A prepared flush held back because detection had not taken the flushes stored before it. */
  storeHeldByDetection: number;
  /** Evaluating stored flushes (the detect stage busy). */
  detecting: number;
}

/**
 * Dead letters wait for a flush like rows do, each holding its message's bytes: more than this
 * many bytes of them waiting count as a full flush (back-pressure, and the next flush is taken).
 */
const MAX_WAITING_LETTER_BYTES = 64 * 1024 * 1024;

export class Batcher<P = unknown, T = unknown> {
  private rows: EventRow[] = [];
  private letters: DeadLetter[] = [];
  /** The bytes of the waiting letters' messages (see MAX_WAITING_LETTER_BYTES). */
  private letterBytes = 0;
  private stored: ({ promise: Promise<void> } & Settle) | null = null;
  private running: Promise<void> | null = null;
  /** The store of the last flush that entered that stage, until it settles. */
  private storing: Promise<unknown> = Promise.resolve();
  private storeInProgress = false;
  /** A flush taken from the queued rows is being prepared or waits for the store stage. */
  private flushOnItsWay = false;
  /** Stored flushes waiting for detection, in flush order. */
  private undetected: { result: T; done: Settle }[] = [];
  /** The detection loop while it runs (see detectLoop). */
  private detecting: Promise<void> | null = null;
  /** Called when a stored flush moves on to detection, or a store settles. */
  private stageWaiters: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  /** Set once a flush failed for good: nothing queued after it may count as stored. */
  private failed: unknown = null;
  private readonly times: StageTimes = { storing: 0, storeHeldByDetection: 0, detecting: 0 };

  constructor(
    private readonly maxRows: number,
    private readonly stages: FlushStages<P, T>,
  ) {}

  /** Queues rows; resolves (after back-pressure) with a promise of their being stored. */
  async add(rows: EventRow[], letters: DeadLetter[]): Promise<{ stored: Promise<void> }> {
    while (this.full()) await new Promise<void>((r) => this.roomWaiters.push(r));
    for (const r of rows) this.rows.push(r);
    for (const l of letters) {
      this.letters.push(l);
      this.letterBytes += (l.value?.length ?? 0) + (l.key?.length ?? 0);
    }
    // A full flush is waiting: the loop may take it while the previous one is stored.
    if (this.full()) this.stageChanged();
    if (!this.stored) {
      let resolve!: () => void, reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => {}); // observed by the caller; never an unhandled rejection here
      this.stored = { promise, resolve, reject };
    }
    const stored = this.stored.promise;
    if (!this.running) this.running = this.loop();
    return { stored };
  }

  /** Where the stages spent their time so far (a copy). */
  stageTimes(): StageTimes {
    return { ...this.times };
  }

  /** Resolves when everything queued so far is stored and detected. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
    await this.storing;
    while (this.detecting) await this.detecting;
  }

  private async loop(): Promise<void> {
    while (this.stored) {
      // While a flush is stored, rows gather for the next one, up to a full flush.
      while (this.storeInProgress && !this.full() && !this.failed) await this.nextStageChange();
      const batch: Flush = { rows: this.rows, letters: this.letters };
      const done = this.stored;
      this.rows = [];
      this.letters = [];
      this.letterBytes = 0;
      this.stored = null;
      this.roomWaiters.splice(0).forEach((w) => w());
      if (this.failed) {
        // A later flush must not succeed past a failed one: its offsets would be committed
        // beyond rows that were never stored.
        done.reject(this.failed);
        continue;
      }
      let prepared: P;
      this.flushOnItsWay = true;
      try {
        prepared = await this.stages.prepare(batch);
      } catch (err) {
        this.flushOnItsWay = false;
        this.fail(err, done);
        this.stageChanged();
        continue;
      }
      // Hand over to the store once it is free and the flushes stored before have moved on to
      // their detection (while ingest catches up and detection gathers: once fewer than the
      // most it takes at once are waiting).
      await this.storing;
      const heldSince = performance.now();
      while (this.undetected.length >= this.flushesPerDetection()) await this.nextStageChange();
      this.times.storeHeldByDetection += performance.now() - heldSince;
      this.flushOnItsWay = false;
      this.storing = this.store(prepared, done);
    }
    this.running = null;
  }

  /**
   * Whether what waits makes a full flush: INGEST_BATCH_SIZE rows and dead letters together, or
   * MAX_WAITING_LETTER_BYTES of letters. Letters count too: a stream of bad messages while a
   * flush is stored would otherwise pile up without back-pressure, each holding its bytes.
   */
  private full(): boolean {
    return this.rows.length + this.letters.length >= this.maxRows || this.letterBytes >= MAX_WAITING_LETTER_BYTES;
  }

  /** Whether another flush will reach detection soon: one is being prepared or stored, or rows wait for the next. */
  private moreComing(): boolean {
    return this.flushOnItsWay || this.storeInProgress || this.stored !== null;
  }

  /**
   * How many stored flushes detection takes at once now: several while any flush waiting for
   * it wants gathering. Asking only the last one stored let a small flush, taken while the
   * consumer was a moment behind, end every gathering: bench:scale's incident week took 2.4
   * flushes per evaluation instead of up to 4 (docs/BENCHMARKS.md).
   */
  private flushesPerDetection(): number {
    const gather = this.stages.gather;
    return gather && this.undetected.some((u) => gather.wanted(u.result)) ? gather.upTo : 1;
  }

  private nextStageChange(): Promise<void> {
    return new Promise<void>((r) => this.stageWaiters.push(r));
  }

  private stageChanged(): void {
    this.stageWaiters.splice(0).forEach((w) => w());
  }

  private store(prepared: P, done: Settle): Promise<unknown> {
    this.storeInProgress = true;
    const startedAt = performance.now();
    const stored = (async () => {
      if (this.failed) throw this.failed;
      return this.stages.store(prepared);
    })();
    return stored.then(
      (result) => {
        this.times.storing += performance.now() - startedAt;
        this.storeInProgress = false;
        this.undetected.push({ result, done });
        this.kickDetection();
        this.stageChanged();
      },
      (err) => {
        this.storeInProgress = false;
        this.fail(err, done);
        this.kickDetection();
        this.stageChanged();
      },
    );
  }

  private kickDetection(): void {
    if (this.detecting) return;
    this.detecting = this.detectLoop().finally(() => {
      this.detecting = null;
      if (this.undetected.length) this.kickDetection();
    });
  }

  /**
   * Detects stored flushes one detection at a time, in flush order. While ingest catches up
   * (gather.wanted) and another flush is being stored, it waits until `upTo` flushes are
   * stored and takes them together: one detection pays its fixed costs (lookups, writes) once
   * for all of them. Otherwise it takes what is waiting, one flush without `gather`.
   */
  private async detectLoop(): Promise<void> {
    while (this.undetected.length) {
      if (this.failed) {
        for (const { done } of this.undetected.splice(0)) done.reject(this.failed);
        this.stageChanged();
        return;
      }
      const wanted = this.flushesPerDetection();
      if (this.undetected.length < wanted && this.moreComing()) {
        await this.nextStageChange();
        continue;
      }
      const items = this.undetected.splice(0, wanted);
      const detection = this.stages.detect(items.length === 1 ? items[0].result : this.stages.gather!.merge(items.map((i) => i.result)));
      // The flushes taken have moved on: the next store may start.
      this.stageChanged();
      const startedAt = performance.now();
      try {
        await detection;
        for (const { done } of items) done.resolve();
      } catch (err) {
        for (const { done } of items) this.fail(err, done);
      }
      this.times.detecting += performance.now() - startedAt;
    }
  }

  private fail(err: unknown, done: Settle): void {
    this.failed ??= err;
    done.reject(err);
  }
}
