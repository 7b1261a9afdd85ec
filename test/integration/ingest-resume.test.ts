/**
 * A flush whose stage fails pauses the consumer while it is retried (ingest/consumer.ts,
 * untilDone). Once the retry succeeds the consumer must fetch again, whichever stage failed:
 * when detection failed on the last flush in flight, no later store came to resume it, and
 * ingest stopped for good with the consumer paused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import { runtimeStatus } from "@/lib/runtime-status";
import { closeStore, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { IngestConsumer } from "@/ingest/consumer";
import { actionEvent, committedOffsetsOf, configureTestStack, count, eventually, produceJson, testProducer, type TestStack } from "../helpers/stack";

describe("a flush whose detection failed once", () => {
  let stack: TestStack;
  let producer: Producer;
  let consumer: IngestConsumer | null = null;

  beforeAll(async () => {
    stack = configureTestStack({ KAFKA_TOPIC_PARTITIONS: "1" });
    await migrate(store().writer);
    producer = await testProducer();
  });
  afterAll(async () => {
    await consumer?.stop();
    await producer?.disconnect();
    await closeStore();
  });

  it("is retried, and the consumer fetches again afterwards", async () => {
    let failures = 0;
    const detected: string[] = [];
    consumer = new IngestConsumer({
      cfg: config(),
      kafka: createKafka(config(), "-test-ingest"),
      client: store().writer,
      hooks: {
        afterStore: async (events) => {
          if (failures === 0) {
            failures++;
            throw new Error("detection unavailable for a moment");
          }
          detected.push(...events.map((e) => e.event_id));
        },
      },
    });
    await consumer.start();

    const first = actionEvent();
    await produceJson(producer, stack.topic, [first]);
    await eventually(async () => (await committedOffsetsOf(stack.env.KAFKA_GROUP_ID, stack.topic)) === 1, 30_000, "the first event, detected on its retry");
    expect(failures).toBe(1);
    expect(detected).toEqual([first.event_id]);
    expect(runtimeStatus().ingest.paused).toBe(false);

    // Produced after the retry: fetched, stored, detected and committed like any other.
    const later = [actionEvent(), actionEvent()];
    await produceJson(producer, stack.topic, later);
    await eventually(async () => (await committedOffsetsOf(stack.env.KAFKA_GROUP_ID, stack.topic)) === 3, 30_000, "the later events");
    expect(detected).toEqual([first.event_id, ...later.map((e) => e.event_id)]);
    expect(await count("SELECT count() FROM events")).toBe(3);
  });
});
