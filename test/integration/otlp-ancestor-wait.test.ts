/**
 * A tool call that names no agent waits for its invoke_agent ancestor (lib/otlp/store.ts), but
 * not for ever: past OTLP_ANCESTOR_WAIT_MS it goes to the dead-letter topic, naming the span
 * that never arrived, and an ancestor arriving after that completes nothing. On the real
 * broker and engine, with spans made and serialised by the OpenTelemetry SDK, and the
 * dead-letter topic read by a kafkajs consumer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { config } from "@/lib/config";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { otlpJob } from "@/ingest/jobs";
import { startWorker, type Worker } from "@/ingest/worker";
import { configureTestStack, count, eventually, otlpDrained, readDeadLetterTopic, storedAgentOf, testProducer, type TestStack } from "../helpers/stack";
import { OtelSource, sendOtlpExport } from "../helpers/otel";
import { T } from "../helpers/otlp-scenario";

const WAIT_MS = 5_000;

let stack: TestStack;
let worker: Worker;
let producer: Producer;

const sendSpans = (spans: ReadableSpan[]) => sendOtlpExport(producer, spans, "otlp_json");

beforeAll(async () => {
  stack = configureTestStack({ OTLP_KAFKA_ENCODING: "otlp_json", OTLP_ANCESTOR_WAIT_MS: String(WAIT_MS) });
  producer = await testProducer();
  worker = await startWorker({ jobs: [otlpJob()] });
});
afterAll(async () => {
  await worker?.stop();
  await producer?.disconnect();
  await closeStore();
});

describe("a tool call waiting for its agent", () => {
  it("is stored with its agent when the ancestor comes within the wait, and dead-lettered naming the missing span when it does not", async () => {
    const src = new OtelSource({ "service.name": "planner" });

    // In time: the agent's span as soon as its tool call waits for it.
    const punctual = src.agent("punctual-agent", T);
    src.tool({ tool: "search", callId: "in-time", time: T + 1 }, punctual);
    await sendSpans(await src.take());
    punctual.end(T + 2);
    const punctualSpans = await src.take();

    // Never in time: a step span arrives, the agent above it only after the wait.
    const late = src.agent("late-agent", T + 10);
    const step = src.step("plan", T + 11, late);
    src.tool({ tool: "delete_repo", callId: "given-up", time: T + 12 }, step);
    step.end(T + 13);
    const [given, stepSpan] = await src.take();
    await sendSpans([given, stepSpan]);

    // Once the punctual call waits (stored, its agent unknown), its agent follows: well within
    // the wait however slow the host.
    await eventually(async () => (await count("SELECT count() FROM otlp_waiting WHERE position(action, 'in-time') > 0")) > 0, 30_000, "the punctual call waiting");
    await sendSpans(punctualSpans);
    expect(await eventually(() => storedAgentOf("in-time"), 30_000, "the punctual call stored")).toBe("punctual-agent");

    // The late one is dead-lettered once its wait is over, naming the agent span that is missing
    // and the export it came in; its action is in the letter, for an operator to replay.
    const [letter] = await readDeadLetterTopic(stack, 1);
    const { traceId, spanId } = given.spanContext();
    expect(letter.headers["revenant-source-topic"]).toBe(`${config().OTLP_KAFKA_TOPIC}/${traceId}/${spanId}`);
    expect(letter.headers["revenant-reason"]).toBe(
      `otlp: trace ${traceId} span ${spanId}: no invoke_agent ancestor arrived within 5 s (span ${late.spanContext().spanId}, an ancestor, never did)`,
    );
    expect(JSON.parse(letter.value)).toMatchObject({ event_id: "given-up", action: "execute_tool", resource: "delete_repo" });
    const [kept] = await queryRows<{ partition: number; offset: string }>(
      store().reader,
      "test",
      "SELECT partition, offset FROM dead_letters FINAL WHERE topic = {t:String}",
      { t: `${config().OTLP_KAFKA_TOPIC}/${traceId}/${spanId}` },
    );
    const [exportId] = await queryRows<{ export_id: string }>(store().reader, "test", "SELECT export_id FROM otlp_spans FINAL WHERE span_id = {s:String}", { s: spanId });
    expect(`${config().OTLP_KAFKA_TOPIC}/${kept.partition}/${kept.offset}`).toBe(exportId.export_id);

    // The agent's span after all: it completes nothing, and the call is not given up twice.
    late.end(T + 20);
    await sendSpans(await src.take());
    await eventually(async () => (await count("SELECT count() FROM otlp_spans FINAL WHERE agent_id = 'late-agent'")) === 1, 30_000, "the late agent span stored");
    await eventually(otlpDrained, 30_000, "the late agent span's export committed");
    await new Promise((r) => setTimeout(r, WAIT_MS));
    expect(await storedAgentOf("given-up")).toBeUndefined();
    expect(await count("SELECT count() FROM dead_letters FINAL WHERE topic LIKE {t:String}", { t: `${config().OTLP_KAFKA_TOPIC}%` })).toBe(1);
    expect(await count("SELECT count() FROM otlp_waiting FINAL WHERE state = 0")).toBe(0);
  });
});
