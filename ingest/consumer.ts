/**
 * The ingest worker: a kafkajs consumer group reading the events topic into ClickHouse.
 *
 * At-least-once: offsets are committed only after the batch's rows are stored, its dead
 * letters produced, and detection has run on it (autoCommit off; a revocation whose
 * evaluation failed is retried by the engine, see lib/detection/engine.ts). Redelivery after a crash
 * is harmless: a copy of a stored event_id is never stored again (ingest/first-copies.ts).
 * While ClickHouse is unavailable the consumer pauses fetching, keeps heartbeating so it
 * keeps its partitions, retries, and resumes when the insert goes through.
 * stop() (SIGTERM) lets the in-flight batch finish and commit, then leaves the group.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { Partitioners, type Consumer, type ConsumerRunConfig, type EachBatchPayload, type Kafka } from "kafkajs";
import type { Config } from "@/lib/config";
import type { BatchContext } from "@/lib/detection/engine";
import { ensureTopics } from "@/lib/kafka";
import { CrashRestarts, kafkajsRestartOff } from "@/lib/kafka-restart";
import { logger } from "@/lib/log";
import { runtimeStatus } from "@/lib/runtime-status";
import { embeddedEngineClosed } from "@/lib/store/clickhouse";
import { Batcher, type Flush, type StageTimes } from "./batcher";
import { DeadLetterSink, refusedRowLetter, type DeadLetter } from "./dead-letters";
import { EventWriter, type EventRow, type SortedBatch } from "./event-writer";
import { reportConsumerStatus } from "./consumer-status";
import { decodeBatch } from "./decode-batch";

export interface IngestHooks {
  /**
   * Runs after a batch is stored and before its offsets are committed (detection), with the
   * batch's context (lib/detection/engine.ts, BatchContext).
   */
  afterStore?: (events: EventRow[], context: BatchContext) => Promise<void>;
}

/** A flush whose rows were sorted into first copies, repeats and conflicts (ingest/first-copies.ts). */
interface PreparedFlush {
  flush: Flush;
  sorted: SortedBatch;
}

/** What detection gets: the rows to evaluate, their batch's context, and how many flushes they are. */
interface DetectionInput {
  rows: EventRow[];
  context: BatchContext;
  flushes: number;
}

/**
 * While ingest catches up, detection takes up to this many stored flushes at once
 * (ingest/batcher.ts, gather): its lookups and writes per evaluation (coverage prepare, pairs
 * append, state and coverage writes) are then paid once for all of them. Live traffic is
 * evaluated flush by flush.
 */
const BACKLOG_FLUSHES_PER_DETECTION = 4;

/**
 * Several stored flushes as one detection input, in order. Their store began at the first
 * one's storedAt: the earliest is the bound a derivation prepared by this evaluation takes
 * (every event of these flushes was stored after it and is evaluated here).
 */
function mergeFlushes(inputs: DetectionInput[]): DetectionInput {
  const storedAt = inputs.map((i) => i.context.storedAt);
  return {
    rows: inputs.flatMap((i) => i.rows),
    flushes: inputs.reduce((n, i) => n + i.flushes, 0),
    context: {
      // Unknown for one flush, unknown for all: the engine then checks every pair.
      storedAt: storedAt.every((t) => t !== undefined) ? Math.min(...(storedAt as number[])) : undefined,
      catchingUp: inputs.some((i) => i.context.catchingUp),
    },
  };
}

/** Where another intake of the worker hands its validated events (IngestConsumer.submit). */
export interface EventIntake {
  submit(rows: EventRow[], letters: DeadLetter[]): Promise<{ stored: Promise<void> }>;
}

export interface IngestOptions {
  cfg: Config;
  kafka: Kafka;
  client: ClickHouseClient;
  /** Where first copies are looked up, beside the inserts on `client` (defaults to it). */
  lookupClient?: ClickHouseClient;
  hooks?: IngestHooks;
}

export class IngestConsumer implements EventIntake {
  private readonly log = logger().child({ component: "ingest" });
  private consumer: Consumer | null = null;
  private readonly status = runtimeStatus().ingest;
  /**
   * The heartbeat of the latest batch kafkajs handed over. Every batch's heartbeat beats for the
   * same consumer, so one is kept, not one per batch in flight: kafkajs's closure also holds its
   * batch, and so all of that batch's messages.
   */
  private heartbeat: (() => Promise<void>) | null = null;
  private batcher: Batcher<PreparedFlush, DetectionInput>;
  private writer: EventWriter;
  private sink: DeadLetterSink | null = null;
  private stopping = false;
  private pendingCommits = new Set<Promise<void>>();
  private restarts: CrashRestarts | null = null;

  constructor(private readonly opts: IngestOptions) {
    this.writer = new EventWriter(
      opts.client,
      (attempt, err) => this.onStoreRetry(attempt, err),
      // While stopping, an unavailable ClickHouse is not waited out: the batch stays
      // uncommitted and is redelivered after the restart.
      () => this.stopping,
      opts.lookupClient,
    );
    this.batcher = new Batcher<PreparedFlush, DetectionInput>(opts.cfg.INGEST_BATCH_SIZE, {
      prepare: (f) => this.untilDone("prepare", f.rows.length, async () => ({ flush: f, sorted: await this.writer.sort(f.rows) })),
      store: (p) =>
        this.untilDone("store", p.flush.rows.length, async () => {
          // A flush at least half as large as the largest there is: rows were waiting, ingest is behind.
          const context = { storedAt: Date.now(), catchingUp: p.flush.rows.length >= opts.cfg.INGEST_BATCH_SIZE / 2 };
          return { context, rows: await this.store(p), flushes: 1 };
        }),
      detect: ({ rows, context, flushes }) => this.untilDone("detection", rows.length, () => this.detect(rows, context, flushes)),
      gather: { wanted: ({ context }) => context.catchingUp === true, merge: mergeFlushes, upTo: BACKLOG_FLUSHES_PER_DETECTION },
    });
  }

  /** Where the flush stages spent their time since start (ingest/batcher.ts, StageTimes). */
  stageTimes(): StageTimes {
    return this.batcher.stageTimes();
  }

  async start(): Promise<void> {
    const { cfg, kafka } = this.opts;
    this.status.state = "starting";
    await ensureTopics(kafka, cfg);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    this.sink = new DeadLetterSink(producer, this.opts.client, cfg.KAFKA_DLQ_TOPIC);

    const consumer = kafka.consumer({
      groupId: cfg.KAFKA_GROUP_ID,
      // Let the broker gather up to INGEST_FLUSH_MS of traffic per fetch: fewer, larger inserts.
      minBytes: 64 * 1024,
      maxWaitTimeInMs: cfg.INGEST_FLUSH_MS,
      // 4 MiB per partition ≈ 12k events of ~350 B: one fetch fills about one insert.
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      // Every crash is restarted by CrashRestarts below, retriable or not (lib/kafka-restart.ts).
      ...kafkajsRestartOff,
      sessionTimeout: cfg.KAFKA_SESSION_TIMEOUT_MS,
      // kafkajs wants heartbeats well inside the session timeout: a third of it at most.
      heartbeatInterval: Math.min(3_000, Math.floor(cfg.KAFKA_SESSION_TIMEOUT_MS / 3)),
    });
    this.consumer = consumer;
    reportConsumerStatus(consumer, this.status, {
      stopping: () => this.stopping,
      onCrash: (error) => this.log.error({ err: error }, "consumer crashed"),
    });
    // Batches in flight from before a crash are still stored; their commits fail (the
    // partitions were given up) and Kafka redelivers them, which deduplication absorbs.
    this.restarts = new CrashRestarts(consumer, () => consumer.run(this.runConfig()), this.log, (err) => {
      this.status.lastError = `kafka: ${err.message}`;
    });
    await consumer.connect();
    await consumer.subscribe({ topic: cfg.KAFKA_TOPIC, fromBeginning: true });
    this.status.running = true;
    await consumer.run(this.runConfig());
    this.log.info({ topic: cfg.KAFKA_TOPIC, group: cfg.KAFKA_GROUP_ID }, "ingest consumer started");
  }

  private runConfig(): ConsumerRunConfig {
    return {
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, this.opts.cfg.KAFKA_TOPIC_PARTITIONS),
      eachBatch: (payload) => this.handleBatch(payload),
    };
  }

  async stop(): Promise<void> {
    await this.restarts?.stop();
    this.status.running = false;
    this.status.state = "stopped";
    this.stopping = true;
    // Stop fetching, store and commit what was handed over, then leave the group
    // (disconnect() also waits for a running eachBatch).
    this.pauseTopic();
    await this.batcher.drain();
    await Promise.all(this.pendingCommits);
    await this.consumer?.disconnect();
    this.consumer = null;
    this.log.info("ingest consumer stopped");
  }

  /**
   * Events of another intake of this worker (the OpenTelemetry consumer, ingest/otlp-consumer.ts),
   * already validated (ingest/decode-batch.ts): stored, deduplicated and evaluated in the same
   * flushes as the events topic's rows. Resolves once they are queued (after back-pressure)
   * with `stored`, which settles when they are stored and detection has run on them: when the
   * intake may commit its own offsets.
   */
  submit(rows: EventRow[], letters: DeadLetter[]): Promise<{ stored: Promise<void> }> {
    if (this.stopping) return Promise.reject(new Error("ingest is stopping"));
    this.status.consumed += rows.length + letters.length;
    return this.batcher.add(rows, letters);
  }

  private async handleBatch({ batch, heartbeat, resolveOffset }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
    const { rows, letters } = await decodeBatch(batch);
    this.status.consumed += batch.messages.length;
    this.heartbeat = heartbeat;
    const { stored } = await this.batcher.add(rows, letters);
    // Return at once so kafkajs fetches the next batch while this one is written; the
    // offset is committed when its rows are stored. Flushes complete in order, so commits
    // of one partition happen in order too.
    // resolveOffset moves kafkajs's fetch position on; with autoCommit off it commits nothing.
    resolveOffset(batch.lastOffset());
    // The commit below names the batch by topic and partition only: a closure over `batch`
    // would keep its messages, and their whole fetch, until detection has run on them.
    const { topic, partition } = batch;
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    const commit = stored
      .then(
        () =>
          this.consumer?.commitOffsets([{ topic, partition, offset: next }]).catch((err: Error) => {
            // A rebalance took the partition away: its new owner re-reads from the last
            // commit, and event_id deduplication absorbs the repeat.
            this.log.warn({ partition, offset: next, err: err.message }, "offset commit failed");
          }),
        (err: Error) => {
          // Given up while stopping: the offsets stay uncommitted and Kafka redelivers the batch.
          this.log.warn({ partition, offset: next, err: err.message }, "batch not stored; offsets left uncommitted");
        },
      )
      .finally(() => {
        this.pendingCommits.delete(commit);
      });
    this.pendingCommits.add(commit);
  }

  /**
   * Each stage of a flush is retried until it succeeds (or the worker stops): later batches
   * must never be committed past one that was not stored and evaluated. A failure pauses the
   * consumer; the stage's success resumes it, whichever stage it was (a detection that failed
   * on the last flush in flight has no later store to resume it).
   */
  private async untilDone<T>(stage: string, rows: number, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await fn();
        if (attempt > 1 && this.status.paused && !this.stopping) this.resume();
        return result;
      } catch (err) {
        if (this.stopping && attempt > 3) throw err;
        // The process is exiting and has closed this thread's sessions: nothing left to retry.
        if (embeddedEngineClosed()) return new Promise<never>(() => {});
        this.status.lastError = (err as Error).message;
        this.log.error({ stage, attempt, rows, err: (err as Error).message }, "flush failed; retrying");
        await this.pauseAndHeartbeat(attempt);
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  /** Stores a flush's rows and dead letters; returns the rows detection is to evaluate. */
  private async store({ flush: { rows, letters: decodeLetters }, sorted }: PreparedFlush): Promise<EventRow[]> {
    const letters = [...decodeLetters];
    const { rejected, forDetection } = await this.writer.storeSorted(sorted);
    if (this.status.paused && !this.stopping) this.resume();
    for (const r of rejected) letters.push(refusedRowLetter(r.row, Buffer.from(JSON.stringify(r.row)), r.reason, this.opts.cfg.KAFKA_TOPIC));
    await this.sink!.send(letters);
    if (letters.length) this.log.warn({ count: letters.length, first: letters[0].reason }, "messages dead-lettered");
    // Counted last, so that a store retried after a failure above is counted once.
    this.status.stored += rows.length - rejected.length;
    this.status.deadLettered += letters.length;
    // First copies and repeats only (ingest/first-copies.ts): a conflicting copy is never evaluated.
    return forDetection;
  }

  private async detect(stored: EventRow[], context: BatchContext, flushes: number): Promise<void> {
    if (this.opts.hooks?.afterStore && stored.length) await this.opts.hooks.afterStore(stored, context);
    // Flushes, not evaluations: one evaluation may take several (mergeFlushes).
    this.status.batches += flushes;
    this.status.lastBatchAt = new Date().toISOString();
  }

  /** ClickHouse is failing: count it, then pause and heartbeat. */
  private async onStoreRetry(attempt: number, err: Error): Promise<void> {
    this.status.storeFailures++;
    this.status.lastError = `clickhouse: ${err.message}`;
    await this.pauseAndHeartbeat(attempt);
  }

  /** Stop fetching while a batch cannot be stored, and keep our partitions (heartbeat). */
  private async pauseAndHeartbeat(attempt: number): Promise<void> {
    if (!this.status.paused && this.consumer) {
      this.status.paused = true;
      this.pauseTopic();
      this.log.warn({ attempt }, "a flush cannot be stored or evaluated: consumer paused while it is retried");
    }
    await this.heartbeat?.().catch(() => {});
  }

  private resume(): void {
    this.status.paused = false;
    this.status.lastError = null;
    try {
      this.consumer?.resume([{ topic: this.opts.cfg.KAFKA_TOPIC }]);
    } catch {
      // Not running (between a crash and its restart): a restarted consumer fetches anyway.
    }
    this.log.info("the flush went through: consumer resumed");
  }

  /** kafkajs throws when the consumer is not running (after a crash): nothing to pause then. */
  private pauseTopic(): void {
    try {
      this.consumer?.pause([{ topic: this.opts.cfg.KAFKA_TOPIC }]);
    } catch {
      // Not running: it fetches nothing until it runs again.
    }
  }
}
