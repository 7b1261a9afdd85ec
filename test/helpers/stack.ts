/**
 * A private Revenant stack for one test file: its own topics and consumer group on the
 * shared real Kafka broker, its own embedded ClickHouse directory. Test files run in
 * separate processes (vitest forks), so each one owns its chdb engine.
 */
import { inject } from "vitest";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { Partitioners, type Admin, type Producer } from "kafkajs";
import { config, resetConfig } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import { queryRows, store } from "@/lib/store/clickhouse";
import { detectionIdle } from "@/lib/detection/engine";
import { otlpGroupId } from "@/ingest/otlp-consumer";

export interface TestStack {
  topic: string;
  dlqTopic: string;
  dataDir: string;
  env: Record<string, string>;
}

/** Points this process's configuration at fresh topics and a fresh data directory. */
export function configureTestStack(extra: Record<string, string> = {}): TestStack {
  const id = randomUUID().slice(0, 8);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `revenant-test-${id}-`));
  const env = {
    KAFKA_BROKERS: inject("kafkaBrokers"),
    KAFKA_TOPIC: `test.${id}.events`,
    KAFKA_DLQ_TOPIC: `test.${id}.events.dlq`,
    KAFKA_GROUP_ID: `test-${id}`,
    OTLP_KAFKA_TOPIC: `test.${id}.otlp`,
    KAFKA_TOPIC_PARTITIONS: "3",
    REVENANT_DATA_DIR: dataDir,
    INGEST_FLUSH_MS: "100",
    LOG_LEVEL: "warn",
    ...extra,
  };
  Object.assign(process.env, env);
  resetConfig();
  return { topic: env.KAFKA_TOPIC, dlqTopic: env.KAFKA_DLQ_TOPIC, dataDir, env };
}

export async function testProducer(): Promise<Producer> {
  const producer = createKafka(config(), "-test").producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return producer;
}

export async function produceJson(producer: Producer, topic: string, values: unknown[]): Promise<void> {
  for (let i = 0; i < values.length; i += 1000) {
    await producer.send({
      topic,
      messages: values.slice(i, i + 1000).map((v) => {
        const value = typeof v === "string" ? v : JSON.stringify(v);
        const key = typeof v === "object" && v && "agent_id" in v ? String((v as { agent_id: unknown }).agent_id) : null;
        return { key, value };
      }),
    });
  }
}

/** Polls until check() returns a truthy value, or fails with the last value seen. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

export async function count(query: string, params: Record<string, unknown> = {}): Promise<number> {
  const rs = await store().reader.query({ query, query_params: params, format: "JSONEachRow" });
  const rows = await rs.json<Record<string, number>>();
  return Number(Object.values(rows[0] ?? { n: 0 })[0]);
}

let seq = 0;
export function actionEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  return {
    event_id: `evt-${process.pid}-${seq}-${randomUUID().slice(0, 6)}`,
    type: "action",
    time: new Date(Date.UTC(2026, 10, 1, 12, 0, 0) + seq).toISOString(),
    agent_id: "agent-test",
    layer: "tool",
    action: "execute_tool",
    resource: "search",
    decision: "allow",
    ...overrides,
  };
}

/** Sum of the committed offsets of the configured group on the configured topic. */
export async function committedOffsets(): Promise<number> {
  const cfg = config();
  return committedOffsetsOf(cfg.KAFKA_GROUP_ID, cfg.KAFKA_TOPIC);
}

/**
 * A group's committed offsets on a topic, or null while the broker cannot tell yet: one started
 * a moment ago answers "the coordinator is loading" (retriable), which a poll takes as "not yet".
 */
async function fetchCommitted(admin: Admin, groupId: string, topic: string) {
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets;
  } catch (err) {
    if ((err as { retriable?: boolean }).retriable) return null;
    throw err;
  }
}

/** Sum of the offsets `groupId` has committed on `topic` (0 for a partition with none, or while the broker cannot tell yet). */
export async function committedOffsetsOf(groupId: string, topic: string): Promise<number> {
  const admin = createKafka(config(), "-test-admin").admin();
  await admin.connect();
  try {
    const offsets = await fetchCommitted(admin, groupId, topic);
    return offsets?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until the worker has committed `total` messages (offsets are committed only after a
 * batch is stored and detection has evaluated it) and detection's derivations from scratch,
 * which run beside ingest, are done: then everything derived is in place.
 */
export async function waitUntilConsumed(total: number, timeoutMs = 60_000): Promise<void> {
  await eventually(async () => (await committedOffsets()) >= total, timeoutMs, `${total} messages consumed and evaluated`);
  await eventually(otlpDrained, timeoutMs, "every OpenTelemetry export consumed and evaluated");
  await detectionIdle();
}

/**
 * Whether the OpenTelemetry consumer has committed every message of its topic (true when the
 * topic does not exist): it commits a batch once ingest has stored and evaluated its actions.
 */
export async function otlpDrained(): Promise<boolean> {
  const cfg = config();
  const admin = createKafka(cfg, "-test-admin").admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(cfg.OTLP_KAFKA_TOPIC)) return true;
    const ends = await admin.fetchTopicOffsets(cfg.OTLP_KAFKA_TOPIC);
    const committed = await fetchCommitted(admin, otlpGroupId(cfg), cfg.OTLP_KAFKA_TOPIC);
    if (!committed) return false;
    return ends.every((e) => {
      const c = committed.partitions.find((p) => p.partition === e.partition);
      return Number(e.high) === 0 || Number(c?.offset ?? -1) >= Number(e.high);
    });
  } finally {
    await admin.disconnect();
  }
}

/** The stack's dead-letter topic as a kafkajs consumer reads it from the start: each message's value and headers, once `expected` have come. */
export async function readDeadLetterTopic(stack: TestStack, expected: number): Promise<{ value: string; headers: Record<string, string> }[]> {
  const consumer = createKafka(config(), "-test-dlq").consumer({ groupId: `${stack.env.KAFKA_GROUP_ID}-dlq-reader-${randomUUID().slice(0, 8)}` });
  await consumer.connect();
  await consumer.subscribe({ topic: stack.dlqTopic, fromBeginning: true });
  const seen: { value: string; headers: Record<string, string> }[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      seen.push({ value: message.value?.toString() ?? "", headers });
    },
  });
  await eventually(async () => seen.length >= expected, 30_000, `${expected} dead letters`);
  await consumer.disconnect();
  return seen;
}

/** The agent the stored event was given (undefined while it is not stored). */
export async function storedAgentOf(eventId: string): Promise<string | undefined> {
  return (await queryRows<{ agent_id: string }>(store().reader, "test", "SELECT agent_id FROM events FINAL WHERE event_id = {id:String}", { id: eventId }))[0]?.agent_id;
}
