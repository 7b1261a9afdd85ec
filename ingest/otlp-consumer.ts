/**
 * The OpenTelemetry intake on Kafka: reads OTLP trace exports (what an OpenTelemetry
 * Collector's kafka exporter writes, otlp_proto or otlp_json) and turns the tool calls they
 * contain into schema-v1 actions, validated and stored by the same writer and evaluated by the
 * same detection as the events topic's (ingest/consumer.ts, submit).
 *
 * Per batch: decode and map (in the worker thread, ingest/otlp-thread.ts) → validate the actions
 * whose spans named their agent (ingest/decode-batch.ts) while the spans are stored, then
 * complete the waiting tool spans whose agent is now known (lib/otlp/store.ts, on this intake's
 * own ClickHouse session) → hand the actions and dead letters to ingest. The batch's offsets are
 * committed once ingest has stored them and detection has run on them, and the outcome of the
 * completed waiting spans is recorded: a crash anywhere before that repeats the batch, and the
 * repeat gives the same event_ids and content, which ingest stores once (ingest/first-copies.ts).
 * The stages overlap: the worker thread maps a partition's next batch while this thread hands
 * over the one before (docs/ARCHITECTURE.md, "Processes").
 *
 * Trouble that is not a lost connection (a broken export that crashes the worker thread, a
 * store that refuses the spans) is retried a few times, then the batch's exports are given up
 * to the dead-letter topic with the reason, payloads kept, so that one bad export cannot stall
 * the intake; the actions that need nothing from the span store are still stored. A lost
 * connection to ClickHouse is waited out however long it lasts: nothing is skipped for it.
 *
 * The actions do not travel through the events topic: producing them there and consuming them
 * again cost more than everything else the intake does (docs/ARCHITECTURE.md, "OpenTelemetry").
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Config } from "@/lib/config";
import { createTopicsWhenReady } from "@/lib/kafka";
import { CrashRestarts, kafkajsRestartOff } from "@/lib/kafka-restart";
import { logger } from "@/lib/log";
import { encodingOf } from "@/lib/otlp";
import { exportCoordinatesOf, type ExportCoordinates, type ExportMessage, type MappedBatch } from "@/lib/otlp/batch";
import { SpanStore, type Completed } from "@/lib/otlp/store";
import type { EventIntake } from "./consumer";
import { kafkaLetter, type DeadLetter } from "./dead-letters";
import { decodeActions } from "./decode-batch";
import { isConnectivityFailure, type EventRow } from "./event-writer";
import { OtlpThread } from "./otlp-thread";

/** Attempts at a batch's step before an error other than a lost connection gives the batch up to dead letters. */
const BOUNDED_ATTEMPTS = 5;

/**
 * Settled tool spans stay in otlp_waiting this long after their latest row (lib/otlp/store.ts,
 * purgeSettled). Each worker purges once a day, the first time ten minutes after it started: the
 * purge runs on the intake's own session, and a restart should not hold the intake up at once.
 */
const SETTLED_SPANS_KEPT_MS = 30 * 24 * 3_600_000;
const PURGE_EVERY_MS = 24 * 3_600_000;
const FIRST_PURGE_AFTER_MS = 10 * 60_000;

/** A batch's step failed BOUNDED_ATTEMPTS times for a reason retrying does not seem to cure. */
class GivenUp extends Error {
  constructor(readonly step: string, readonly reason: unknown) {
    super(`${step}: ${((reason as Error)?.message ?? String(reason)).trim()}`);
  }
}

/** The OpenTelemetry consumer's group: OTLP_KAFKA_GROUP_ID, else the ingest group's name with "-otlp". */
export const otlpGroupId = (cfg: Config): string => cfg.OTLP_KAFKA_GROUP_ID ?? `${cfg.KAFKA_GROUP_ID}-otlp`;

export class OtlpConsumer {
  private readonly log = logger().child({ component: "otlp-ingest" });
  private consumer: Consumer | null = null;
  private restarts: CrashRestarts | null = null;
  private thread: OtlpThread | null = null;
  /**
   * Per partition, its latest batch past the worker thread: `handed` settles when ingest has
   * accepted it, `committed` (false when it was not) once its offsets are. Commits of one
   * partition happen in order.
   */
  private readonly inFlight = new Map<number, { handed: Promise<unknown>; committed: Promise<boolean> }>();
  private readonly spans: SpanStore;
  /** The next look for tool spans that waited too long for their agent (expireWaiting); null once stopping. */
  private expiryTimer: NodeJS.Timeout | null = null;
  private expiring: Promise<void> = Promise.resolve();
  /** When settled spans were last purged (epoch ms), as if FIRST_PURGE_AFTER_MS from start were due. */
  private purgedAt = Date.now() - PURGE_EVERY_MS + FIRST_PURGE_AFTER_MS;

  constructor(
    private readonly cfg: Config,
    private readonly kafka: Kafka,
    private readonly client: ClickHouseClient,
    private readonly intake: EventIntake,
  ) {
    this.spans = new SpanStore(client);
  }

  async start(): Promise<void> {
    const { cfg, kafka } = this;
    const admin = kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(cfg.OTLP_KAFKA_TOPIC)) {
        await createTopicsWhenReady(admin, [{ topic: cfg.OTLP_KAFKA_TOPIC, numPartitions: cfg.KAFKA_TOPIC_PARTITIONS }]);
      }
    } finally {
      await admin.disconnect();
    }
    this.thread = new OtlpThread(cfg);
    await this.thread.start();
    const groupId = otlpGroupId(cfg);
    // Up to 8 MiB per partition (~35k protobuf spans): each batch pays a few fixed round trips
    // (span insert, lookup, commit), so fewer, larger batches go faster (measured with
    // npm run bench:otlp: 1 MiB batches were slower than 8 MiB ones).
    const consumer = kafka.consumer({
      groupId,
      minBytes: 64 * 1024,
      maxWaitTimeInMs: cfg.INGEST_FLUSH_MS,
      maxBytesPerPartition: 8 * 1024 * 1024,
      ...kafkajsRestartOff,
    });
    this.consumer = consumer;
    const run = () =>
      consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, cfg.KAFKA_TOPIC_PARTITIONS),
        eachBatch: (payload) => this.handleBatch(payload),
      });
    // Restarted after every crash, also one kafkajs would leave stopped (lib/kafka-restart.ts).
    this.restarts = new CrashRestarts(consumer, run, this.log);
    await consumer.connect();
    await consumer.subscribe({ topic: cfg.OTLP_KAFKA_TOPIC, fromBeginning: true });
    await run();
    this.scheduleExpiry();
    this.log.info({ topic: cfg.OTLP_KAFKA_TOPIC, group: groupId, encoding: cfg.OTLP_KAFKA_ENCODING }, "OTLP consumer started");
  }

  /** Stops fetching, lets the batches handed to ingest commit, then leaves the group. Before ingest stops. */
  async stop(): Promise<void> {
    await this.restarts?.stop();
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    await this.expiring;
    try {
      this.consumer?.pause([{ topic: this.cfg.OTLP_KAFKA_TOPIC }]);
    } catch {
      // Not running: nothing to pause.
    }
    // The batches already handed to ingest commit while the group still has their partitions;
    // disconnect() then waits for a batch still being mapped, whose commit finds the group left
    // and leaves it to be delivered again.
    const committed = () => Promise.all([...this.inFlight.values()].map((b) => b.committed));
    await committed();
    await this.consumer?.disconnect();
    await committed();
    await this.thread?.stop();
    this.consumer = null;
    this.thread = null;
  }

  private async handleBatch({ batch, heartbeat, resolveOffset, isRunning }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
    const messages: ExportMessage[] = batch.messages.map((m) => {
      const header = m.headers?.["content-type"];
      return { offset: m.offset, encoding: encodingOf(header ? String(header) : null) ?? this.cfg.OTLP_KAFKA_ENCODING, value: m.value };
    });
    // Mapped in the worker thread from now on; handed over to ingest after the partition's batch
    // before (spans and actions stay in partition order).
    const prior = this.inFlight.get(batch.partition);
    const mapping = this.withRetry("the export could not be decoded and mapped", heartbeat, isRunning, () => this.thread!.map(batch.topic, batch.partition, messages)).catch(
      (err: unknown) => {
        if (err instanceof GivenUp) return err;
        throw err;
      },
    );
    const handed = Promise.all([mapping, prior?.handed]).then(([mapped]) =>
      mapped instanceof GivenUp ? this.giveUp(batch, mapped, heartbeat) : this.handOver(batch, messages, mapped, heartbeat, isRunning),
    );
    // Observed by `committed` below and by the partition's next batch; by nothing when the batch
    // before stops the partition here.
    handed.catch(() => {});
    // Back-pressure: return once the batch before has been handed over, so that at most two
    // batches of a partition are on their way. kafkajs fetches the next one meanwhile, and the
    // worker thread maps while this thread validates and the engine stores spans. A batch that
    // could not be handed over stops the partition here, before its offsets move.
    if (prior) await whileHeartbeating(heartbeat, prior.handed);
    const lastOffset = batch.lastOffset();
    // Its offsets are committed once it is stored and evaluated, after the partition's batch before.
    resolveOffset(lastOffset);
    const next = (BigInt(lastOffset) + 1n).toString();
    const committed = (async (): Promise<boolean> => {
      try {
        const { stored, settle } = await handed;
        await stored;
        if (prior && !(await prior.committed)) return false;
        await settle();
        await this.consumer?.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
        return true;
      } catch (err) {
        // Not stored (ingest stopping) or the partition was given up: the offsets stay where
        // they were, Kafka delivers the batch again and deduplication absorbs the repeat.
        this.log.warn({ partition: batch.partition, offset: next, err: (err as Error).message }, "OTLP batch not committed");
        return false;
      }
    })();
    const entry = { handed, committed };
    this.inFlight.set(batch.partition, entry);
    void committed.finally(() => {
      if (this.inFlight.get(batch.partition) === entry) this.inFlight.delete(batch.partition);
    });
  }

  /**
   * A mapped batch → ingest: validates the actions whose spans named their agent while the spans
   * are stored, completes the waiting tool spans whose agent is now known, and queues the actions
   * and dead letters. Resolves once ingest accepted them (after its back-pressure), with the
   * promise of their storage and the recording of the completed spans' outcome.
   */
  private async handOver(
    batch: EachBatchPayload["batch"],
    messages: ExportMessage[],
    mapped: MappedBatch,
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
  ): Promise<{ stored: Promise<void>; settle: () => Promise<void> }> {
    const letter = (offset: string, key: Buffer | null, value: Buffer | null, reason: string, span?: string): DeadLetter =>
      kafkaLetter({ topic: batch.topic, partition: batch.partition, offset }, key, value, reason, span);
    const letters: DeadLetter[] = [];
    for (const { index, reason } of mapped.rejected) {
      const m = batch.messages[index];
      letters.push(letter(m.offset, m.key, m.value, `${messages[index].encoding}: ${reason}`));
    }
    for (const { index, problem: p } of mapped.problems) {
      const m = batch.messages[index];
      letters.push(letter(m.offset, m.key, Buffer.from(JSON.stringify(p)), `${messages[index].encoding}: ${p.reason}`, `${p.traceId}/${p.spanId}#${p.spanIndex}`));
    }
    const source = { topic: batch.topic, partition: batch.partition, offset: batch.lastOffset() };
    // Validated while the spans are stored (decodeActions yields between slices).
    const validating = decodeActions(mapped.ready, source);
    validating.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    let completed: { rows: EventRow[]; letters: DeadLetter[]; settle: () => Promise<void> };
    try {
      // Stored again on a retry: the same rows, which the tables deduplicate.
      completed = await this.withRetry("the export's spans could not be stored", heartbeat, isRunning, async () => {
        const done = await this.spans.ingest(mapped);
        const orphans = done.orphans.map((o) => this.orphanLetter(o, { topic: batch.topic, partition: batch.partition, offset: "0" }));
        const actions = await decodeActions(done.actions, source);
        return { rows: actions.rows, letters: orphans.concat(actions.letters), settle: done.settle };
      });
    } catch (err) {
      if (!(err instanceof GivenUp)) throw err;
      // The actions that named their agent need nothing from the span store: they are stored.
      // The exports go to dead letters whole (spans waiting for an ancestor included), to be
      // produced again once the store accepts them.
      this.log.error({ partition: batch.partition, offsets: `${batch.firstOffset()}…${batch.lastOffset()}`, err: err.message }, "OTLP batch given up to dead letters");
      // A message already dead-lettered as undecodable is not given up a second time.
      const rejected = new Set(mapped.rejected.map((r) => r.index));
      completed = { rows: [], letters: this.exportLetters(batch, err, rejected), settle: async () => {} };
    }
    const ready = await validating;
    // Queued behind ingest's back-pressure: heartbeat meanwhile so the group keeps this partition.
    const { stored } = await whileHeartbeating(heartbeat, this.intake.submit(ready.rows.concat(completed.rows), letters.concat(ready.letters, completed.letters)));
    return { stored, settle: completed.settle };
  }

  /** A batch whose exports could not be mapped: each export to dead letters, with the reason. */
  private async giveUp(batch: EachBatchPayload["batch"], err: GivenUp, heartbeat: () => Promise<void>): Promise<{ stored: Promise<void>; settle: () => Promise<void> }> {
    this.log.error({ partition: batch.partition, offsets: `${batch.firstOffset()}…${batch.lastOffset()}`, err: err.message }, "OTLP batch given up to dead letters");
    const { stored } = await whileHeartbeating(heartbeat, this.intake.submit([], this.exportLetters(batch, err)));
    return { stored, settle: async () => {} };
  }

  /** Each of the batch's messages (but those at `skip`, by index) as a dead letter saying why the batch was given up. */
  private exportLetters(batch: EachBatchPayload["batch"], err: GivenUp, skip: ReadonlySet<number> = new Set()): DeadLetter[] {
    const reason = `otlp: ${err.message} (given up after ${BOUNDED_ATTEMPTS} attempts)`;
    return batch.messages
      .filter((_, i) => !skip.has(i))
      .map((m) => kafkaLetter({ topic: batch.topic, partition: batch.partition, offset: m.offset }, m.key, m.value, reason));
  }

  /**
   * Looks for expired waits a few times per OTLP_ANCESTOR_WAIT_MS (at least every minute, at
   * most every second), one look at a time. Every worker looks: two that give up the same span
   * at once write the same dead letter twice, which the dead letters' table keeps once.
   */
  private scheduleExpiry(): void {
    const every = Math.min(60_000, Math.max(1_000, Math.floor(this.cfg.OTLP_ANCESTOR_WAIT_MS / 4)));
    this.expiryTimer = setTimeout(() => {
      this.expiring = this.expireWaiting()
        .catch((err: unknown) => this.log.error({ err: (err as Error).message }, "OTLP tool spans that waited too long could not be given up; trying again"))
        .finally(() => {
          if (this.expiryTimer) this.scheduleExpiry();
        });
    }, every);
  }

  /**
   * Tool spans whose invoke_agent ancestor has not arrived within OTLP_ANCESTOR_WAIT_MS go to
   * the dead-letter topic naming the ancestor that is missing (lib/otlp/store.ts,
   * expireWaiting, which also gives the action of one whose agent arrived just now); their
   * wait ends once the letters and actions are stored. A crash in between takes them up again
   * on the next look.
   */
  private async expireWaiting(): Promise<void> {
    if (Date.now() - this.purgedAt >= PURGE_EVERY_MS) {
      this.purgedAt = Date.now();
      // Housekeeping: a failure is tried again the next day and holds back no expiry.
      await this.spans
        .purgeSettled(new Date(Date.now() - SETTLED_SPANS_KEPT_MS))
        .then((n) => n && this.log.info({ spans: n }, "settled OTLP tool spans purged"))
        .catch((err: Error) => this.log.warn({ err: err.message }, "settled OTLP tool spans could not be purged; trying again tomorrow"));
    }
    const wait = this.cfg.OTLP_ANCESTOR_WAIT_MS;
    const expired = await this.spans.expireWaiting(new Date(Date.now() - wait), waitText(wait));
    if (!expired.actions.length && !expired.orphans.length) return;
    const unplaced = { topic: this.cfg.OTLP_KAFKA_TOPIC, partition: 0, offset: "0" };
    const letters = expired.orphans.map((o) => this.orphanLetter(o, unplaced));
    const rows: EventRow[] = [];
    // Each action is placed at its own export (decodeActions places a call's actions in one partition).
    for (const a of expired.actions) {
      const at = (a.exportId && exportCoordinatesOf(a.exportId)) || unplaced;
      const decoded = await decodeActions([{ ...a, offset: at.offset }], at);
      rows.push(...decoded.rows);
      letters.push(...decoded.letters);
    }
    const { stored } = await this.intake.submit(rows, letters);
    await stored;
    await expired.settle();
    this.log.warn({ deadLettered: expired.orphans.length, completed: expired.actions.length, waited: waitText(wait) }, "OTLP tool spans that waited too long for their agent given up");
  }

  /** A tool span given up (no agent in its ancestry, or none arrived in time), named after its trace and span and the export it came in. */
  private orphanLetter(o: Completed["orphans"][number], fallback: ExportCoordinates): DeadLetter {
    const at = (o.exportId && exportCoordinatesOf(o.exportId)) || fallback;
    return kafkaLetter(at, null, Buffer.from(o.action), `otlp: trace ${o.traceId} span ${o.spanId}: ${o.reason}`, `${o.traceId}/${o.spanId}`);
  }

  /**
   * Retries a batch's step with backoff, heartbeating: without end while the failure is a lost
   * connection (nothing is skipped for it), BOUNDED_ATTEMPTS times otherwise, then GivenUp.
   */
  private async withRetry<T>(step: string, heartbeat: () => Promise<void>, isRunning: () => boolean, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isRunning() && attempt > 3) throw err;
        if (attempt >= BOUNDED_ATTEMPTS && !isConnectivityFailure(err)) throw new GivenUp(step, err);
        this.log.error({ attempt, err: (err as Error).message }, "OTLP batch failed; retrying");
        await heartbeat().catch(() => {});
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** Math.min(attempt, 5))));
      }
    }
  }
}

/** A wait as the dead letters say it: "24 h", "90 min", "30 s". */
function waitText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}

/** Awaits `work`, heartbeating every 3 s meanwhile (kafkajs heartbeats only between calls). */
async function whileHeartbeating<T>(heartbeat: () => Promise<void>, work: Promise<T>): Promise<T> {
  const timer = setInterval(() => void heartbeat().catch(() => {}), 3_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
