/**
 * Publishing off the batch path: a batch only appends its pairs (the counters follow by
 * materialized view) and marks the revocations it touched; this publisher writes their
 * summaries and alerts from the counters, for every revocation touched since its last cycle,
 * on its own ClickHouse session. Under an incident many batches touch the same revocations:
 * they are published once per cycle instead of once per batch, and ingest never waits for it.
 *
 * Nothing is lost in a crash between a batch's commit and the cycle that publishes it: each
 * summary row carries the version taken before its counters were read, and each counter row
 * the version of the newest pair in it (touched_version, lib/store/migrations/021_counter_touch.sql).
 * At start, every revocation whose counters or state are newer than its summary is published
 * again (resume()).
 *
 * Cycles run one at a time, so a cycle that read a revocation's state before a derivation
 * committed its new generation is always followed by one that reads it after (a commit marks
 * its revocations) and writes over it.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { AlertHistoryEntry, AlertStore } from "../alerts/store";
import { logger } from "../log";
import { queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { publish } from "./publish";
import { RevocationStates } from "./state";
import type { StateMemory } from "./state-memory";

export interface PublisherOptions {
  client: ClickHouseClient;
  alerts: AlertStore;
  onAlertChanges: (changes: AlertHistoryEntry[]) => void;
  /** How long touched revocations gather before a cycle publishes them (ms). */
  gatherMs?: number;
  /** Whether ingest is working through a backlog (its batches are full; lib/detection/engine.ts, BatchContext). */
  catchingUp?: () => boolean;
  /** While ingest catches up on a backlog: the least time from one cycle's end to the next one's start (ms, default 0). */
  backlogIntervalMs?: number;
  /** The states the sole writer holds in memory (lib/detection/state-memory.ts). */
  stateMemory?: StateMemory | null;
}

/** A cycle of at least this many revocations is followed by a pause while ingest catches up (paceWait). */
const LARGE_CYCLE = 100;

/** A failed cycle is tried again after this long; its revocations stay touched. */
const RETRY_MS = 1_000;

export class Publisher {
  private readonly log = logger().child({ component: "publisher" });
  private touched = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly states: RevocationStates;
  private readonly gatherMs: number;
  private stopped = false;
  private lastCycleEnd = 0;
  private lastCycleMs = 0;
  private lastCycleSize = 0;
  lastError: string | null = null;

  constructor(private readonly opts: PublisherOptions) {
    this.states = new RevocationStates(opts.client, opts.stateMemory ?? null);
    this.gatherMs = opts.gatherMs ?? 20;
  }

  /**
   * Revocations whose counters changed: published within gatherMs, or, after a long cycle, once
   * as much time again has passed (see paceWait()).
   */
  mark(ids: Iterable<string>): void {
    for (const id of ids) this.touched.add(id);
    this.schedule(this.gatherMs);
  }

  /**
   * How long the next cycle still waits. While ingest catches up on a backlog and after a large
   * cycle (each batch then touches hundreds of revocations), until backlogIntervalMs, and at
   * least that cycle's duration, has passed since it ended: cycles then publish more at once and
   * leave CPU to ingest (the same revocations are touched batch after batch, so a cycle
   * gathering longer costs less per batch; bench:scale, 1M events: ratio 0.62 with a pause as
   * long as the cycle, 0.71 with 3 s). Otherwise not at all: with live traffic (an incident as
   * it happens) ingest has CPU to spare, and waiting would only delay the alert.
   */
  private paceWait(): number {
    if (!this.opts.catchingUp?.() || this.lastCycleSize < LARGE_CYCLE) return 0;
    return this.lastCycleEnd + Math.max(this.lastCycleMs, this.opts.backlogIntervalMs ?? 0) - performance.now();
  }

  /** Announces alert updates owed by coalescing (lib/alerts/store.ts), one at a time with cycles. */
  flushOwedUpdates(): Promise<void> {
    return this.serial(async () => {
      const changes = await this.opts.alerts.flushOwedUpdates();
      if (changes.length) this.opts.onAlertChanges(changes);
    });
  }

  /**
   * Marks every revocation whose counters (a pair stored) or state (a derivation committed) are
   * newer than its summary: what a crash left unpublished. Reads one row per revocation.
   */
  async resume(): Promise<void> {
    const rows = await queryRows<{ revocation_id: string }>(
      this.opts.client,
      "detection:publish:owed",
      `SELECT revocation_id FROM (
         SELECT revocation_id, max(touched_version) AS changed, toUInt64(0) AS published FROM revocation_counters GROUP BY revocation_id
         UNION ALL
         SELECT revocation_id, max(version) AS changed, toUInt64(0) AS published FROM revocation_state GROUP BY revocation_id
         UNION ALL
         SELECT event_id AS revocation_id, toUInt64(0) AS changed, max(version) AS published FROM revocation_status GROUP BY event_id
       ) GROUP BY revocation_id HAVING max(changed) > max(published)`,
    );
    if (rows.length) this.log.info({ revocations: rows.length }, "publishing what was not published before the restart");
    this.mark(rows.map((r) => r.revocation_id));
  }

  /**
   * Resolves when nothing is touched and no cycle runs (tests, benchmarks, shutdown): touched
   * revocations are published at once rather than after gatherMs. A failing cycle is left to
   * its retry timer.
   */
  async idle(): Promise<void> {
    for (;;) {
      await this.chain;
      if (this.touched.size === 0) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await this.serial(() => this.cycle());
      if (this.lastError) return;
    }
  }

  async stop(): Promise<void> {
    await this.idle();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.serial(async () => {
        const wait = this.paceWait();
        if (wait > 1) this.schedule(wait);
        else await this.cycle();
      });
    }, delayMs);
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private async cycle(): Promise<void> {
    if (this.touched.size === 0) return;
    const ids = [...this.touched];
    this.touched = new Set();
    // Taken before anything is read: a pair stored after this point has a newer version than
    // the summary, so resume() republishes it if the process dies before the next cycle.
    const version = nextVersion();
    const began = performance.now();
    this.lastCycleSize = ids.length;
    try {
      const changes = await publish(this.opts.client, this.opts.alerts, ids, async () => [...(await this.states.get(ids)).values()], version);
      if (changes.length) this.opts.onAlertChanges(changes);
      this.lastError = null;
    } catch (err) {
      for (const id of ids) this.touched.add(id);
      this.lastError = (err as Error).message;
      this.log.error({ revocations: ids.length, err: this.lastError }, "publishing failed; will retry");
      if (!this.stopped) this.schedule(RETRY_MS);
    } finally {
      this.lastCycleEnd = performance.now();
      this.lastCycleMs = this.lastCycleEnd - began;
    }
  }
}
