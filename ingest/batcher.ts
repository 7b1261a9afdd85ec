/**
 * Gathers decoded rows from the partition batches kafkajs hands over and writes them to
 * ClickHouse in as few inserts as the load allows, overlapping decoding with writing.
 *
 * A flush has two stages: `store` (the insert and the dead letters) and `detect` (detection on
 * what was stored). Stores run one at a time, and so do detections, in flush order; the
 * detection of one flush runs beside the store of the next (they use different ClickHouse
 * sessions, lib/store/clickhouse.ts), so ingest waits for the slower of the two instead of
 * their sum. At most one detection runs behind the store that follows it.
 *
 * A store starts as soon as rows are waiting and no store is running: under light load every
 * fetch is written at once (low latency for detection); under heavy load rows pile up while the
 * previous insert runs, so inserts grow by themselves up to INGEST_BATCH_SIZE (few large inserts:
 * what ClickHouse wants). Small inserts are limited upstream too: the consumer asks the broker to
 * hold a fetch until it has 64 KiB or INGEST_FLUSH_MS passed.
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

export interface FlushStages<T> {
  /** Stores a flush; its result is what detection runs on. */
  store: (f: Flush) => Promise<T>;
  /** Runs after the flush's store, beside the next flush's store; in flush order. */
  detect: (stored: T) => Promise<void>;
}

export class Batcher<T = unknown> {
  private rows: EventRow[] = [];
  private letters: DeadLetter[] = [];
  private stored: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
  private running: Promise<void> | null = null;
  /** The detection of the last stored flush, until it settles. */
  private detecting: Promise<void> = Promise.resolve();
  private roomWaiters: (() => void)[] = [];
  /** Set once a flush failed for good: nothing queued after it may count as stored. */
  private failed: unknown = null;

  constructor(
    private readonly maxRows: number,
    private readonly stages: FlushStages<T>,
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
      let result: T;
      try {
        result = await this.stages.store(batch);
      } catch (err) {
        this.failed = err;
        done.reject(err);
        continue;
      }
      // Detections stay in flush order: this one starts when the previous one has settled,
      // and the next store waits for the previous detection, so at most one runs behind.
      const previous = this.detecting;
      await previous;
      this.detecting = this.detectAfter(result, done);
    }
    this.running = null;
  }

  private async detectAfter(result: T, done: { resolve: () => void; reject: (e: unknown) => void }): Promise<void> {
    if (this.failed) return done.reject(this.failed);
    try {
      await this.stages.detect(result);
      done.resolve();
    } catch (err) {
      this.failed = err;
      done.reject(err);
    }
  }
}
