/**
 * The worker process (ingest/main.ts, its own data directory) killed with SIGKILL at random
 * moments, several times in a row, while a stream of uniquely numbered events arrives on the
 * events topic and one of OpenTelemetry exports (tool calls made by the SDK, serialised by its
 * OTLP serialiser) on the OTLP topic: after the last restart every event and every tool call
 * is stored exactly once, none lost, none duplicated.
 * The engine's data directory belongs to one process at a time: the test opens it only
 * after the worker's final exit.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { closeStore, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { config } from "@/lib/config";
import { actionEvent, committedOffsets, configureTestStack, count, eventually, otlpDrained, testProducer, type TestStack } from "../helpers/stack";
import { exited, startWorkerProcess } from "../helpers/faults";
import { OtelSource, serialise } from "../helpers/otel";

const KILLS = 4;
const TOTAL = 30_000;
/** Tool calls sent as OpenTelemetry exports of EXPORT_SPANS spans each, alternately protobuf and JSON. */
const TOOL_CALLS = 2_000;
const EXPORT_SPANS = 20;

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
    let killed = false;
    const stream = (async () => {
      // At least TOTAL, and on until the kills are over: each worker has new events to commit,
      // on any host.
      while (sent < TOTAL || !killed) {
        const events = Array.from({ length: 100 }, (_, i) => actionEvent({ agent_id: `kill-${(sent + i) % 9}`, event_id: `kill-${sent + i}` }));
        await producer.send({ topic: stack.topic, messages: events.map((e) => ({ key: String(e.agent_id), value: JSON.stringify(e) })) });
        sent += events.length;
        // ~500 events/s, so that the stream outlasts the kills.
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const otel = new OtelSource({ "service.name": "kill-tools", "gen_ai.agent.id": "otel-kill-agent" });
    let calls = 0;
    const spans = (async () => {
      const t0 = Date.now() - 60_000;
      while (calls < TOOL_CALLS) {
        for (let i = 0; i < EXPORT_SPANS; i++) otel.tool({ tool: "search", callId: `otel-kill-${calls + i}`, time: t0 + calls + i });
        const encoding = (calls / EXPORT_SPANS) % 2 ? "otlp_json" : "otlp_proto";
        await producer.send({ topic: config().OTLP_KAFKA_TOPIC, messages: [{ value: serialise(await otel.take(), encoding), headers: { "content-type": encoding === "otlp_json" ? "application/json" : "application/x-protobuf" } }] });
        calls += EXPORT_SPANS;
        await new Promise((r) => setTimeout(r, 150));
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
    killed = true;
    await stream;
    await spans;
    const total = sent;
    const last = startWorkerProcess(stack);
    await eventually(async () => (await committedOffsets()) >= total, 120_000, `${total} offsets committed`);
    await eventually(otlpDrained, 60_000, "every OpenTelemetry export committed");
    last.kill("SIGTERM");
    expect(await exited(last)).toBe(0);
    console.info(`kills (ms after start, offsets committed by then): ${JSON.stringify(kills)}`);

    await migrate(store().writer);
    expect(await count("SELECT count() FROM events FINAL WHERE event_id LIKE 'kill-%'")).toBe(total);
    expect(await count("SELECT uniqExact(event_id) FROM events WHERE event_id LIKE 'kill-%'")).toBe(total);
    expect(await count("SELECT countIf(toUInt32(substring(event_id, 6)) < {n:UInt32}) FROM events FINAL WHERE event_id LIKE 'kill-%'", { n: total })).toBe(total);
    // Every tool call, stored once (none of its repeats a conflict: same content each time).
    expect(await count("SELECT countIf(toUInt32(substring(event_id, 11)) < {n:UInt32}) FROM events FINAL WHERE event_id LIKE 'otel-kill-%' AND agent_id = 'otel-kill-agent'", { n: TOOL_CALLS })).toBe(TOOL_CALLS);
    expect(await count("SELECT count() FROM event_conflicts")).toBe(0);
    // Redelivered batches leave duplicate rows only until a merge: after one, none is left.
    await store().writer.command({ query: "OPTIMIZE TABLE events FINAL" });
    expect(await count("SELECT count() FROM events")).toBe(total + TOOL_CALLS);
    expect(await count("SELECT count() FROM dead_letters FINAL")).toBe(0);
  }, 300_000);
});
