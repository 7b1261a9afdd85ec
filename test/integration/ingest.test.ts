import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStore, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { actionEvent, committedOffsetsOf, configureTestStack, count, eventually, produceJson, readDeadLetterTopic, testProducer, type TestStack } from "../helpers/stack";
import type { Producer } from "kafkajs";
import { exited, startWorkerProcess } from "../helpers/faults";

/**
 * The real worker (ingest/main.ts) runs as a child process, so that it can be killed with
 * SIGKILL in the middle of a stream like a crashing pod. The chdb data directory belongs
 * to one process at a time: the test only opens it after the worker has exited.
 */
// The broker's smallest session timeout: the killed worker's partitions are free again after
// 6 s instead of 30, which would take most of the wait for the restarted worker's commits.
const startWorker = (stack: TestStack) => startWorkerProcess(stack, { INGEST_BATCH_SIZE: "500", KAFKA_SESSION_TIMEOUT_MS: "6000" });

const committedTotal = (stack: TestStack) => committedOffsetsOf(stack.env.KAFKA_GROUP_ID, stack.topic);


describe("ingest from a real Kafka broker into the embedded engine", () => {
  let stack: TestStack;
  let producer: Producer;

  beforeAll(async () => {
    stack = configureTestStack();
    producer = await testProducer();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await closeStore();
  });

  it("stores valid events once, dead-letters bad ones with reasons, and survives SIGKILL mid-stream", async () => {
    // 1. Valid events, duplicates of some of them, and four kinds of bad message.
    const valid = Array.from({ length: 3000 }, (_, i) => actionEvent({ agent_id: `agent-${i % 7}` }));
    const duplicates = valid.slice(0, 300);
    const bad = [
      "{not json",
      JSON.stringify({ event_id: "no-type", time: "2026-01-01T00:00:00Z" }),
      JSON.stringify(actionEvent({ time: "2099-01-01T00:00:00Z" })),
      JSON.stringify(actionEvent({ layer: undefined })),
    ];

    let worker = startWorker(stack);
    await produceJson(producer, stack.topic, [...valid.slice(0, 1500), ...bad]);

    // 2. Kill the worker without warning once it has committed part of the stream.
    await eventually(async () => (await committedTotal(stack)) > 0, 60_000, "a first committed batch");
    worker.kill("SIGKILL");
    await exited(worker);

    // 3. The rest of the stream (and redeliveries) arrive while it is down.
    await produceJson(producer, stack.topic, [...valid.slice(1500), ...duplicates]);
    worker = startWorker(stack);
    const total = valid.length + duplicates.length + bad.length;
    await eventually(async () => (await committedTotal(stack)) >= total, 60_000, "all offsets committed");
    worker.kill("SIGTERM");
    expect(await exited(worker)).toBe(0);

    // 4. Exactly once in ClickHouse, whatever was redelivered.
    await migrate(store().writer);
    expect(await count("SELECT count() FROM events FINAL")).toBe(valid.length);
    // After a forced merge no duplicate row is left even without FINAL.
    await store().writer.command({ query: "OPTIMIZE TABLE events FINAL" });
    expect(await count("SELECT count() FROM events")).toBe(valid.length);
    expect(await count("SELECT count() FROM events FINAL WHERE agent_id = 'agent-3'")).toBe(valid.filter((v) => v.agent_id === "agent-3").length);
    // Times were stored in UTC with their milliseconds.
    const first = valid[0];
    expect(await count("SELECT toUnixTimestamp64Milli(time) FROM events FINAL WHERE event_id = {id:String}", { id: first.event_id })).toBe(
      Date.parse(String(first.time)),
    );

    // 5. Each bad message is in the dead-letter topic with its original bytes and reason,
    //    and counted once in ClickHouse.
    expect(await count("SELECT count() FROM dead_letters FINAL")).toBe(bad.length);
    const letters = await readDeadLetterTopic(stack, bad.length);
    const byValue = new Map(letters.map((l) => [l.value, l.headers]));
    expect(byValue.get("{not json")?.["revenant-reason"]).toMatch(/^invalid JSON/);
    expect(byValue.get(bad[1])?.["revenant-reason"]).toMatch(/type/);
    expect(byValue.get(bad[2])?.["revenant-reason"]).toMatch(/more than 24 h in the future/);
    expect(byValue.get(bad[3])?.["revenant-reason"]).toMatch(/layer: required for type action/);
    for (const h of byValue.values()) {
      expect(h["revenant-source-topic"]).toBe(stack.topic);
      expect(Number(h["revenant-source-offset"])).toBeGreaterThanOrEqual(0);
      expect(Number(h["revenant-source-partition"])).toBeGreaterThanOrEqual(0);
    }
  }, 240_000);
});
