/**
 * Gathers the rows of the partition batches that kafkajs hands over concurrently and
 * writes them as one ClickHouse insert.
 *
 * A flush starts when (a) the buffer reaches INGEST_BATCH_SIZE rows, or (b) every partition
 * handler that is running has added its rows and is waiting (kafkajs fetches no more until
 * they return, so waiting longer only adds latency), or (c) INGEST_FLUSH_MS passed since the
 * first buffered row. Small inserts are avoided upstream instead: the consumer asks the
 * broker to hold a fetch until it has minBytes or INGEST_FLUSH_MS passed.
 * Each handler's promise settles only when its own rows are durable (and dead letters
 * sent), so its offsets can be committed.
 */
import type { DeadLetter } from "./dead-letters";
import type { EventRow } from "./event-writer";

export interface Flush {
  rows: EventRow[];
  letters: DeadLetter[];
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Batcher {
  private rows: EventRow[] = [];
  private letters: DeadLetter[] = [];
  private waiters: Waiter[] = [];
  private active = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly maxRows: number,
    private readonly maxWaitMs: number,
    private readonly flushFn: (f: Flush) => Promise<void>,
  ) {}

  /** A partition handler begins; call before add(). */
  enter(): void {
    this.active++;
  }

  /** Adds a handler's rows; resolves once they are stored. The handler leaves when it settles. */
  add(rows: EventRow[], letters: DeadLetter[]): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    for (const r of rows) this.rows.push(r);
    for (const l of letters) this.letters.push(l);
    if (this.rows.length >= this.maxRows || this.waiters.length >= this.active) {
      this.flushNow();
    } else {
      this.timer ??= setTimeout(() => this.flushNow(), this.maxWaitMs);
    }
    return done.finally(() => {
      this.active--;
    });
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch: Flush = { rows: this.rows, letters: this.letters };
    const waiters = this.waiters;
    this.rows = [];
    this.letters = [];
    this.waiters = [];
    if (waiters.length === 0) return;
    // Flushes run one after another so rows reach ClickHouse (and detection) in order.
    this.flushing = this.flushing.then(
      () => this.flushFn(batch).then(
        () => waiters.forEach((w) => w.resolve()),
        (err) => waiters.forEach((w) => w.reject(err)),
      ),
    );
  }
}
