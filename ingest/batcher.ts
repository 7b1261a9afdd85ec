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
 *
 * A prepare starts as soon as rows are waiting and the previous flush has moved on to its
 * store: under light load every fetch is written at once (low latency for detection); under
 * heavy load rows pile up meanwhile, so inserts grow by themselves up to INGEST_BATCH_SIZE
 * (few large inserts: what ClickHouse wants). Small inserts are limited upstream too: the
 * consumer asks the broker to hold a fetch until it has 64 KiB or INGEST_FLUSH_MS passed.
 *
 * add() resolves when the rows were handed over, and waits (back-pressure) while more than
 * INGEST_BATCH_SIZE rows are queued. The returned `stored` promise settles when those rows
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
}

type Settle = { resolve: () => void; reject: (e: unknown) => void };

export class Batcher<P = unknown, T = unknown> {
  private rows: EventRow[] = [];
  private letters: DeadLetter[] = [];
  private stored: ({ promise: Promise<void> } & Settle) | null = null;
  private running: Promise<void> | null = null;
  /** The store of the last flush that entered that stage, until it settles. */
  private storing: Promise<unknown> = Promise.resolve();
  /** The detection of the last flush that entered that stage, and of the one before it. */
  private detecting: Promise<void> = Promise.resolve();
  private detectingBefore: Promise<void> = Promise.resolve();
  private roomWaiters: (() => void)[] = [];
  /** Set once a flush failed for good: nothing queued after it may count as stored. */
  private failed: unknown = null;

  constructor(
    private readonly maxRows: number,
    private readonly stages: FlushStages<P, T>,
  ) {}

  /** Queues rows; resolves (after back-pressure) with a promise of their being stored. */
  async add(rows: EventRow[], letters: DeadLetter[]): Promise<{ stored: Promise<void> }> {
    while (this.rows.length >= this.maxRows) await new Promise<void>((r) => this.roomWaiters.push(r));
    for (const r of rows) this.rows.push(r);
    for (const l of letters) this.letters.push(l);
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

  /** Resolves when everything queued so far is stored and detected. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
    await this.storing;
    await this.detecting;
  }

  private async loop(): Promise<void> {
    while (this.stored) {
      const batch: Flush = { rows: this.rows, letters: this.letters };
      const done = this.stored;
      this.rows = [];
      this.letters = [];
      this.stored = null;
      this.roomWaiters.splice(0).forEach((w) => w());
      if (this.failed) {
        // A later flush must not succeed past a failed one: its offsets would be committed
        // beyond rows that were never stored.
        done.reject(this.failed);
        continue;
      }
      let prepared: P;
      try {
        prepared = await this.stages.prepare(batch);
      } catch (err) {
        this.fail(err, done);
        continue;
      }
      // Hand over to the store once it is free, and once the detection two flushes back has
      // ended (so that the previous flush can move on to its detection: one waits at most).
      await this.storing;
      await this.detectingBefore;
      const storing = this.storeThenDetect(prepared, done);
      this.storing = storing.stored;
      this.detectingBefore = this.detecting;
      this.detecting = storing.detected;
    }
    this.running = null;
  }

  private storeThenDetect(prepared: P, done: Settle): { stored: Promise<unknown>; detected: Promise<void> } {
    const previousDetection = this.detecting;
    const stored = (async () => {
      if (this.failed) throw this.failed;
      return this.stages.store(prepared);
    })();
    const detected = (async () => {
      let result: T;
      try {
        result = await stored;
      } catch (err) {
        return this.fail(err, done);
      }
      await previousDetection;
      if (this.failed) return done.reject(this.failed);
      try {
        await this.stages.detect(result);
        done.resolve();
      } catch (err) {
        this.fail(err, done);
      }
    })();
    return { stored: stored.catch(() => {}), detected };
  }

  private fail(err: unknown, done: Settle): void {
    this.failed ??= err;
    done.reject(err);
  }
}
