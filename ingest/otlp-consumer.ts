/**
 * The OpenTelemetry intake on Kafka: reads OTLP trace exports (what an OpenTelemetry
 * Collector's kafka exporter writes, otlp_proto or otlp_json) and produces the tool calls
 * they contain as schema-v1 actions to the events topic, so they travel the same path as
 * every other event (ingest/consumer.ts → ClickHouse → detection).
 *
 * Per batch: decode → store the spans and complete what can be completed (lib/otlp/store.ts)
 * → produce actions and dead letters → record the outcome → commit offsets. A crash anywhere
 * before the commit repeats the batch; the repeat produces the same event_ids, which the
 * events table deduplicates.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { Partitioners, type Consumer, type EachBatchPayload, type ICustomPartitioner, type Kafka, type Producer } from "kafkajs";
import type { Config } from "@/lib/config";
import { logger } from "@/lib/log";
import { decodeOtlpMessage, encodingOf, otlpMapping } from "@/lib/otlp";
import type { OtlpMapping } from "@/lib/otlp/map";
import { spanRole } from "@/lib/otlp/map";
import { SpanBatch, SpanStore, type ExportRow } from "@/lib/otlp/store";
import { DeadLetterSink, type DeadLetter } from "./dead-letters";

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
  private readonly spans: SpanStore;
  private readonly mapping: OtlpMapping;
  readonly status: OtlpConsumerStatus = { messages: 0, actions: 0, deadLettered: 0 };

  constructor(
    private readonly cfg: Config,
    private readonly kafka: Kafka,
    private readonly client: ClickHouseClient,
  ) {
    this.spans = new SpanStore(client);
    this.mapping = otlpMapping(cfg);
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
    // Not idempotent, several requests in flight: a repeated action is harmless (event_id
    // deduplication), and the offsets are committed only after every send was acknowledged.
    this.producer = kafka.producer({ createPartitioner: rememberingPartitioner });
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
    await this.producer?.disconnect();
    this.consumer = null;
    this.producer = null;
  }

  private async handleBatch({ batch, heartbeat, resolveOffset, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
    const spans = new SpanBatch(this.mapping);
    const exports: ExportRow[] = [];
    const letters: DeadLetter[] = [];
    const letter = (offset: string, key: Buffer | null, value: Buffer | null, reason: string, span?: string): DeadLetter =>
      // A letter about one span (not the whole message) names it after the topic: the
      // dead_letters table keeps one row per (topic, partition, offset), and a message may
      // hold several bad spans, while a redelivered one must not count twice.
      ({ origin: "kafka", topic: span ? `${batch.topic}/${span}` : batch.topic, partition: batch.partition, offset, key, value, reason });
    for (const m of batch.messages) {
      const header = m.headers?.["content-type"];
      const encoding = encodingOf(header ? String(header) : null) ?? this.cfg.OTLP_KAFKA_ENCODING;
      const decoded = decodeOtlpMessage(m.value, encoding);
      if (!decoded.ok) {
        letters.push(letter(m.offset, m.key, m.value, `${encoding}: ${decoded.reason}`));
        continue;
      }
      const exportId = `${batch.topic}/${batch.partition}/${m.offset}`;
      if (this.cfg.OTLP_KEEP_CONTEXT_SPANS || decoded.spans.some((s) => spanRole(s) !== "other")) {
        exports.push({ export_id: exportId, encoding, payload: encoding === "otlp_json" ? m.value!.toString("utf8") : m.value!.toString("base64") });
        for (const s of decoded.spans) s.exportId = exportId;
      }
      spans.add(decoded.spans);
      for (const p of decoded.problems) {
        letters.push(letter(m.offset, m.key, Buffer.from(JSON.stringify(p)), `${encoding}: ${p.reason}`, `${p.traceId}/${p.spanId}#${p.spanIndex}`));
      }
    }
    await this.withRetry(heartbeat, isRunning, async () => {
      const done = await this.spans.ingest(spans, exports);
      // Not validated here: the ingest consumer validates every message of the events topic
      // and dead-letters a bad one with its reason (a span with no start time, say). Checking
      // twice cost as much as decoding the protobuf (measured: 15 µs per span).
      const messages = done.actions.map((a) => ({ key: a.agent_id, value: a.json }));
      const batchLetters = [...letters];
      for (const o of done.orphans) {
        batchLetters.push(letter("0", null, Buffer.from(o.action), `otlp: trace ${o.traceId} span ${o.spanId}: ${o.reason}`, `${o.traceId}/${o.spanId}`));
      }
      // A produce request's record batch must stay under the broker's message.max.bytes
      // (1 MiB by default): chunks of at most 900 kB, sent together. At most 500 messages a
      // chunk too: kafkajs groups a send's messages per partition by copying the group for
      // every message (quadratic in the chunk size; 2,000-message chunks spent more time
      // there than encoding, measured with npm run bench:otlp and node --cpu-prof).
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < messages.length; ) {
        let bytes = 0, j = i;
        while (j < messages.length && j - i < 500 && (j === i || bytes + messages[j].value.length < 900_000)) bytes += messages[j++].value.length + 64;
        sends.push(this.producer!.send({ topic: this.cfg.KAFKA_TOPIC, messages: messages.slice(i, j), acks: -1 }));
        i = j;
      }
      await Promise.all(sends);
      await this.sink!.send(batchLetters);
      await done.settle();
      this.status.actions += messages.length;
      this.status.deadLettered += batchLetters.length;
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

/**
 * Kafka's default partitioner (murmur2 of the key), remembering each key's partition: the
 * actions are keyed by agent, and a batch holds thousands of actions of a few agents, so
 * hashing every key again was a measurable share of producing them.
 */
const rememberingPartitioner: ICustomPartitioner = () => {
  const partition = Partitioners.DefaultPartitioner();
  const known = new Map<string, number>();
  return (args) => {
    const { key, partition: chosen } = args.message;
    if (typeof key !== "string" || (chosen !== undefined && chosen !== null)) return partition(args);
    const id = `${args.topic}\n${args.partitionMetadata.length}\n${key}`;
    let p = known.get(id);
    if (p === undefined) {
      if (known.size >= 100_000) known.clear();
      p = partition(args);
      known.set(id, p);
    }
    return p;
  };
};
