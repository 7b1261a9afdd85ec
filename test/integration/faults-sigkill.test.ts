/**
 * The worker process (ingest/main.ts, its own data directory) killed with SIGKILL at random
 * moments, several times in a row, while a stream of uniquely numbered events arrives:
 * after the last restart every event is stored exactly once, none lost, none duplicated.
 * The engine's data directory belongs to one process at a time: the test opens it only
 * after the worker's final exit.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { closeStore, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { actionEvent, committedOffsets, configureTestStack, count, eventually, testProducer, type TestStack } from "../helpers/stack";
import { exited, startWorkerProcess } from "../helpers/faults";

const KILLS = 4;
const TOTAL = 30_000;

describe("SIGKILL of the worker, again and again", () => {
  let stack: TestStack;
  let producer: Producer;

  beforeAll(async () => {
    // The broker's smallest session timeout: a killed worker's partitions are free again after 6 s.
    stack = configureTestStack({ INGEST_BATCH_SIZE: "500", KAFKA_SESSION_TIMEOUT_MS: "6000" });
    producer = await testProducer();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await closeStore();
  });

  it("loses and duplicates nothing", async () => {
    let sent = 0;
    const stream = (async () => {
      while (sent < TOTAL) {
        const events = Array.from({ length: 100 }, (_, i) => actionEvent({ agent_id: `kill-${(sent + i) % 9}`, event_id: `kill-${sent + i}` }));
        await producer.send({ topic: stack.topic, messages: events.map((e) => ({ key: String(e.agent_id), value: JSON.stringify(e) })) });
        sent += events.length;
        // ~500 events/s, so that the stream outlasts the kills.
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const kills: { afterMs: number; committed: number }[] = [];
    let committed = 0;
    for (let k = 0; k < KILLS; k++) {
      const worker = startWorkerProcess(stack);
      // Each worker gets to commit something first (it waits out its killed predecessor's
      // session), then dies at a random moment of its ingest.
      const start = committed;
      await eventually(async () => (await committedOffsets()) > start, 60_000, `worker ${k + 1} committing`);
      const afterMs = Math.floor(Math.random() * 1_500);
      await new Promise((r) => setTimeout(r, afterMs));
      worker.kill("SIGKILL");
      expect(await exited(worker)).toBeNull();
      committed = await committedOffsets();
      kills.push({ afterMs, committed });
    }
    expect(sent).toBeLessThan(TOTAL);
    await stream;
    const last = startWorkerProcess(stack);
    await eventually(async () => (await committedOffsets()) >= TOTAL, 120_000, `${TOTAL} offsets committed`);
    last.kill("SIGTERM");
    expect(await exited(last)).toBe(0);
    console.info(`kills (ms after start, offsets committed by then): ${JSON.stringify(kills)}`);

    await migrate(store().writer);
    expect(await count("SELECT count() FROM events FINAL")).toBe(TOTAL);
    expect(await count("SELECT uniqExact(event_id) FROM events")).toBe(TOTAL);
    expect(await count("SELECT countIf(toUInt32(substring(event_id, 6)) < {n:UInt32}) FROM events FINAL", { n: TOTAL })).toBe(TOTAL);
    // Redelivered batches leave duplicate rows only until a merge: after one, none is left.
    await store().writer.command({ query: "OPTIMIZE TABLE events FINAL" });
    expect(await count("SELECT count() FROM events")).toBe(TOTAL);
    expect(await count("SELECT count() FROM dead_letters FINAL")).toBe(0);
  }, 300_000);
});
