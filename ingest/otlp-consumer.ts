/**
 * The OpenTelemetry intake on Kafka: reads OTLP trace exports (what an OpenTelemetry
 * Collector's kafka exporter writes, otlp_proto or otlp_json) and produces the tool calls
 * they contain as schema-v1 actions to the events topic, so they travel the same path as
 * every other event (ingest/consumer.ts → ClickHouse → detection).
 *
 * Per batch: decode and map (in the worker thread, ingest/otlp-thread.ts) → store the spans
 * and complete what can be completed (lib/otlp/store.ts, on this thread's ClickHouse
 * session) while the thread produces the actions whose spans named their agent → produce the
 * completed ones and the dead letters → record the outcome → commit offsets. A crash anywhere
 * before the commit repeats the batch; the repeat produces the same event_ids, which the
 * events table deduplicates.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { Partitioners, type Consumer, type EachBatchPayload, type Kafka, type Producer } from "kafkajs";
import type { Config } from "@/lib/config";
import { logger } from "@/lib/log";
import { encodingOf } from "@/lib/otlp";
import type { ExportMessage } from "@/lib/otlp/batch";
import { SpanStore } from "@/lib/otlp/store";
import { DeadLetterSink, type DeadLetter } from "./dead-letters";
import { OtlpThread } from "./otlp-thread";

export interface OtlpConsumerStatus {
  messages: number;
  actions: number;
  deadLettered: number;
}

export class OtlpConsumer {
  private readonly log = logger().child({ component: "otlp-ingest" });
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private sink: DeadLetterSink | null = null;
  private thread: OtlpThread | null = null;
  private readonly spans: SpanStore;
  readonly status: OtlpConsumerStatus = { messages: 0, actions: 0, deadLettered: 0 };

  constructor(
    private readonly cfg: Config,
    private readonly kafka: Kafka,
    private readonly client: ClickHouseClient,
  ) {
    this.spans = new SpanStore(client);
  }

  async start(): Promise<void> {
    const { cfg, kafka } = this;
    const admin = kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(cfg.OTLP_KAFKA_TOPIC)) {
        await admin.createTopics({ topics: [{ topic: cfg.OTLP_KAFKA_TOPIC, numPartitions: cfg.KAFKA_TOPIC_PARTITIONS }], waitForLeaders: true });
      }
    } finally {
      await admin.disconnect();
    }
    this.thread = new OtlpThread(cfg);
    await this.thread.start();
    // Dead letters only: the actions are produced by the thread.
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await this.producer.connect();
    this.sink = new DeadLetterSink(this.producer, this.client, cfg.KAFKA_DLQ_TOPIC);
    const groupId = cfg.OTLP_KAFKA_GROUP_ID ?? `${cfg.KAFKA_GROUP_ID}-otlp`;
    // Up to 8 MiB per partition (~35k protobuf spans): each batch pays a few fixed round trips
    // (span insert, lookup, produce, commit), so fewer, larger batches go faster (measured with
    // npm run bench:otlp: 1 MiB batches were slower than 8 MiB ones).
    this.consumer = kafka.consumer({ groupId, minBytes: 64 * 1024, maxWaitTimeInMs: cfg.INGEST_FLUSH_MS, maxBytesPerPartition: 8 * 1024 * 1024 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: cfg.OTLP_KAFKA_TOPIC, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, cfg.KAFKA_TOPIC_PARTITIONS),
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.log.info({ topic: cfg.OTLP_KAFKA_TOPIC, group: groupId, encoding: cfg.OTLP_KAFKA_ENCODING }, "OTLP consumer started");
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.thread?.stop();
    await this.producer?.disconnect();
    this.consumer = null;
    this.thread = null;
    this.producer = null;
  }

  private async handleBatch({ batch, heartbeat, resolveOffset, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
    const messages: ExportMessage[] = batch.messages.map((m) => {
      const header = m.headers?.["content-type"];
      return { offset: m.offset, encoding: encodingOf(header ? String(header) : null) ?? this.cfg.OTLP_KAFKA_ENCODING, value: m.value };
    });
    const letter = (offset: string, key: Buffer | null, value: Buffer | null, reason: string, span?: string): DeadLetter =>
      // A letter about one span (not the whole message) names it after the topic: the
      // dead_letters table keeps one row per (topic, partition, offset), and a message may
      // hold several bad spans, while a redelivered one must not count twice.
      ({ origin: "kafka", topic: span ? `${batch.topic}/${span}` : batch.topic, partition: batch.partition, offset, key, value, reason });
    await this.withRetry(heartbeat, isRunning, async () => {
      // Mapped again on a retry (and its actions produced again: the same event_ids).
      const { mapped: mapping, produced } = this.thread!.map(batch.topic, batch.partition, messages);
      const mapped = await mapping;
      const letters: DeadLetter[] = [];
      for (const { index, reason } of mapped.rejected) {
        const m = batch.messages[index];
        letters.push(letter(m.offset, m.key, m.value, `${messages[index].encoding}: ${reason}`));
      }
      for (const { index, problem: p } of mapped.problems) {
        const m = batch.messages[index];
        letters.push(letter(m.offset, m.key, Buffer.from(JSON.stringify(p)), `${messages[index].encoding}: ${p.reason}`, `${p.traceId}/${p.spanId}#${p.spanIndex}`));
      }
      const done = await this.spans.ingest(mapped);
      for (const o of done.orphans) {
        letters.push(letter("0", null, Buffer.from(o.action), `otlp: trace ${o.traceId} span ${o.spanId}: ${o.reason}`, `${o.traceId}/${o.spanId}`));
      }
      // Not validated here: the ingest consumer validates every message of the events topic
      // and dead-letters a bad one with its reason (a span with no start time, say). Checking
      // twice cost as much as decoding the protobuf (measured: 15 µs per span).
      const [ready, completed] = await Promise.all([produced, this.thread!.produce(done.actions)]);
      await this.sink!.send(letters);
      await done.settle();
      this.status.actions += ready + completed;
      this.status.deadLettered += letters.length;
    });
    this.status.messages += batch.messages.length;
    if (isStale()) return;
    resolveOffset(batch.lastOffset());
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await this.consumer!.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
  }

  /** ClickHouse or Kafka trouble: retry with backoff, heartbeating, so that nothing is skipped. */
  private async withRetry(heartbeat: () => Promise<void>, isRunning: () => boolean, fn: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isRunning() && attempt > 3) throw err;
        this.log.error({ attempt, err: (err as Error).message }, "OTLP batch failed; retrying");
        await heartbeat().catch(() => {});
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** Math.min(attempt, 5))));
      }
    }
  }
}
