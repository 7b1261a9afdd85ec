import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { startWorker, type Worker } from "@/ingest/worker";
import { actionEvent, configureTestStack, count, produceJson, readDeadLetterTopic, testProducer, waitUntilConsumed, type TestStack } from "../helpers/stack";


/**
 * Valid data must never stall ingestion: one consumer batch whose events span ten years
 * (more months than ClickHouse accepts in one insert) is stored whole, through the real
 * broker, worker and engine, and an event from before 2000 is dead-lettered on its own.
 */
describe("ingest of a batch spanning many months", () => {
  let stack: TestStack;
  let producer: Producer;
  let worker: Worker | undefined;

  beforeAll(async () => {
    // A long flush interval and a large batch: the whole stream is one insert's worth of rows.
    stack = configureTestStack({ INGEST_FLUSH_MS: "2000", INGEST_BATCH_SIZE: "5000" });
    producer = await testProducer();
    worker = await startWorker();
  });
  afterAll(async () => {
    await worker?.stop();
    await producer?.disconnect();
    await closeStore();
  });

  it("stores 120 months of valid events exactly once and dead-letters the event from 1999 with its reason", async () => {
    const months = Array.from({ length: 600 }, (_, i) =>
      actionEvent({ agent_id: `agent-${i % 9}`, time: new Date(Date.UTC(2016, Math.floor(i / 5), 1 + (i % 5) * 5, 8)).toISOString() }),
    );
    const old = actionEvent({ agent_id: "agent-old", time: "1999-12-31T23:59:59.000Z" });
    const all = [...months.slice(0, 300), old, ...months.slice(300)];
    await produceJson(producer, stack.topic, all);
    await waitUntilConsumed(all.length, 90_000);

    expect(await count("SELECT count() FROM events FINAL")).toBe(months.length);
    expect(await count("SELECT uniqExact(toYYYYMM(time)) FROM events FINAL")).toBe(120);
    expect(await count("SELECT count() FROM events FINAL WHERE event_id = {id:String}", { id: String(old.event_id) })).toBe(0);

    const [letter] = await queryRows<{ reason: string; payload: string }>(store().reader, "test", "SELECT reason, payload FROM dead_letters FINAL");
    expect(await count("SELECT count() FROM dead_letters FINAL")).toBe(1);
    expect(letter.reason).toBe("time: 1999-12-31T23:59:59.000Z is before 2000-01-01T00:00:00Z, the earliest event time accepted");
    const [dlq] = await readDeadLetterTopic(stack, 1);
    expect(JSON.parse(dlq.value).event_id).toBe(old.event_id);
    expect(dlq.headers["revenant-reason"]).toBe(letter.reason);
  }, 180_000);
});
