import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { createKafka } from "@/lib/kafka";
import { config } from "@/lib/config";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { startWorker, type Worker } from "@/ingest/worker";
import { DeadLetterSink, kafkaLetter } from "@/ingest/dead-letters";
import { actionEvent, configureTestStack, count, eventually, produceJson, testProducer, waitUntilConsumed, type TestStack } from "../helpers/stack";

/**
 * Dead letters must never stall ingestion either: several messages just under the broker's
 * limit (2 MiB here), each over the 1 MiB event limit, become dead letters that do not fit
 * in one produce request together, and one of them alone plus its headers is over the limit.
 */
describe("dead letters of oversized messages", () => {
  let stack: TestStack;
  let producer: Producer;
  let worker: Worker | undefined;

  beforeAll(async () => {
    stack = configureTestStack({ INGEST_FLUSH_MS: "1000" });
    producer = await testProducer();
    worker = await startWorker();
  });
  afterAll(async () => {
    await worker?.stop();
    await producer?.disconnect();
    await closeStore();
  });

  it("dead-letters each of them with its reason and stores the valid events around them", async () => {
    // 2 MiB minus room for the record's framing: the broker accepts each on the source topic.
    const sizes = [1.5 * 1024 * 1024, 1.6 * 1024 * 1024, 2 * 1024 * 1024 - 100];
    const big = sizes.map((n, i) => JSON.stringify(actionEvent({ event_id: `big-${i}`, resource: "x".repeat(n - 300) })).slice(0, n));
    const valid = Array.from({ length: 50 }, () => actionEvent());
    await produceJson(producer, stack.topic, valid.slice(0, 25));
    for (const value of big) await producer.send({ topic: stack.topic, messages: [{ key: null, value }] });
    await produceJson(producer, stack.topic, valid.slice(25));
    await waitUntilConsumed(valid.length + big.length, 90_000);

    expect(await count("SELECT count() FROM events FINAL")).toBe(valid.length);
    // Partitions are consumed in no particular order: compare as sets.
    const reasons = big.map((b) => `message of ${Buffer.byteLength(b)} bytes exceeds 1 MiB`).sort();
    const letters = await queryRows<{ reason: string }>(store().reader, "test", "SELECT reason FROM dead_letters FINAL ORDER BY reason");
    expect(letters.map((l) => l.reason)).toEqual(reasons);

    const consumer = createKafka(config(), "-test-dlq").consumer({ groupId: `${stack.env.KAFKA_GROUP_ID}-dlq-reader` });
    const seen: { size: number; headers: Record<string, string> }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: stack.dlqTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) =>
        void seen.push({ size: message.value?.length ?? 0, headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) }),
    });
    await eventually(async () => seen.length >= big.length, 30_000, "the dead letters on the topic");
    await consumer.disconnect();
    // Each letter carries its reason and the size of the message it stands for: all of its
    // bytes when the topic takes them, else their head and the original size in a header.
    expect(seen.map((l) => l.headers["revenant-reason"]).sort()).toEqual(reasons);
    expect(seen.map((l) => Number(l.headers["revenant-original-bytes"] ?? l.size)).sort()).toEqual(big.map((b) => Buffer.byteLength(b)).sort());
    expect(seen.some((l) => l.headers["revenant-truncated"] === "true")).toBe(true);
  }, 180_000);

  it("produces the letters of many empty messages in a few requests, each one the broker takes", async () => {
    const kafkaProducer = createKafka(config(), "-test-sink").producer();
    await kafkaProducer.connect();
    const requests: number[] = [];
    const counting = new Proxy(kafkaProducer, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop !== "send") return typeof value === "function" ? value.bind(target) : value;
        return (record: { messages: unknown[] }) => {
          requests.push(record.messages.length);
          return value.call(target, record);
        };
      },
    });
    // Each letter is a few hundred bytes of headers around no payload at all.
    const letters = Array.from({ length: 8_000 }, (_, i) =>
      kafkaLetter({ topic: `${stack.topic}.empty`, partition: 0, offset: String(i) }, null, null, "empty message: not a JSON object"),
    );
    try {
      await new DeadLetterSink(counting, store().writer, stack.dlqTopic).send(letters);
    } finally {
      await kafkaProducer.disconnect();
    }
    // A few requests, none refused (a refused one is followed by one request per letter).
    expect(requests.reduce((a, b) => a + b, 0)).toBe(letters.length);
    expect(requests.length).toBeLessThan(20);
    expect(await count("SELECT count() FROM dead_letters FINAL WHERE topic = {t:String}", { t: `${stack.topic}.empty` })).toBe(letters.length);
  }, 120_000);
});
