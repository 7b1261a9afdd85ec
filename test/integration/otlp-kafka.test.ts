/**
 * The OpenTelemetry intake on the real broker and engine: OTLP exports serialised by the
 * OpenTelemetry SDK, in both encodings, on the OTLP topic → ingest/otlp-consumer.ts → the
 * same writer, ClickHouse tables and detection as the events topic's events.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { config } from "@/lib/config";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { otlpJob } from "@/ingest/jobs";
import { startWorker, type Worker } from "@/ingest/worker";
import { agentTimeline } from "@/lib/queries/agents";
import { configureTestStack, count, eventually, produceJson, storedAgentOf, testProducer, waitUntilConsumed } from "../helpers/stack";
import { OtelSource, sendOtlpExport } from "../helpers/otel";
import { controlEvents, nativeActions, otelSpans, T } from "../helpers/otlp-scenario";

let worker: Worker;
let producer: Producer;

const sendSpans = (spans: ReadableSpan[], encoding: "otlp_proto" | "otlp_json", header = false) => sendOtlpExport(producer, spans, encoding, header);
const agentOf = storedAgentOf;

beforeAll(async () => {
  configureTestStack({ OTLP_SERVICE_LAYERS: "mcp-gw=gateway", OTLP_KAFKA_ENCODING: "otlp_json" });
  producer = await testProducer();
  worker = await startWorker({ jobs: [otlpJob()] });
});
afterAll(async () => {
  await worker?.stop();
  await producer?.disconnect();
  await closeStore();
});

describe("OTLP spans from Kafka", () => {
  it("gives a tool call its invoke_agent ancestor's agent whatever order the spans arrive in", async () => {
    const src = new OtelSource({ "service.name": "planner" });
    const agent = src.agent("order-agent", T);
    const step = src.step("plan", T + 1, agent);
    src.tool({ tool: "search", callId: "late-ancestor", time: T + 10 }, step);
    const [tool] = await src.take();
    step.end(T + 20);
    const [stepSpan] = await src.take();
    agent.end(T + 30);
    const [agentSpan] = await src.take();
    // Tool first (JSON, the topic's configured encoding), then its parent, then the agent
    // (protobuf, named by the message's content-type header).
    await sendSpans([tool], "otlp_json");
    await sendSpans([stepSpan], "otlp_proto", true);
    // Still waiting for its agent: no action yet.
    await eventually(async () => (await count("SELECT count() FROM otlp_spans FINAL WHERE name = 'plan'")) === 1, 30_000, "the step span stored");
    expect(await agentOf("late-ancestor")).toBeUndefined();
    await sendSpans([agentSpan], "otlp_proto", true);
    expect(await eventually(() => agentOf("late-ancestor"), 30_000, "the action with its agent")).toBe("order-agent");
    const [row] = await queryRows<Record<string, string>>(store().reader, "test",
      "SELECT trace_id, span_id, layer, action, resource, decision, source, attributes['revenant.origin'] AS origin FROM events FINAL WHERE event_id = 'late-ancestor'");
    expect(row).toMatchObject({ trace_id: tool.spanContext().traceId, span_id: tool.spanContext().spanId, layer: "tool", action: "execute_tool",
      resource: "search", decision: "allow", source: "planner", origin: "otlp" });
    // The original export is kept for investigators, named on the action.
    const [kept] = await queryRows<{ encoding: string; payload: string; named: string }>(store().reader, "test",
      `SELECT encoding, payload, (SELECT attributes['otel.export_id'] FROM events FINAL WHERE event_id = 'late-ancestor') AS named
       FROM otlp_exports FINAL WHERE export_id = (SELECT export_id FROM otlp_spans FINAL WHERE span_id = {s:String})`, { s: tool.spanContext().spanId });
    expect(kept.encoding).toBe("otlp_json");
    expect(await count("SELECT toUnixTimestamp64Milli(start_time) FROM otlp_spans FINAL WHERE span_id = {s:String}", { s: tool.spanContext().spanId })).toBe(T + 10);
    expect(kept.named).toMatch(/\/\d+\/\d+$/);
    expect(JSON.parse(kept.payload).resourceSpans[0].scopeSpans[0].spans[0]).toMatchObject({ name: "execute_tool search", spanId: tool.spanContext().spanId });
  });

  it("dead-letters malformed messages and tool calls whose finished ancestry names no agent", async () => {
    await producer.send({ topic: config().OTLP_KAFKA_TOPIC, messages: [{ value: "{not json" }] });
    const src = new OtelSource({ "service.name": "anonymous" });
    const root = src.step("root", T);
    src.tool({ tool: "orphan", callId: "orphan-call", time: T + 1 }, root);
    root.end(T + 2);
    await sendSpans(await src.take(), "otlp_json");
    await eventually(async () => (await count("SELECT count() FROM dead_letters FINAL WHERE topic LIKE {t:String}", { t: `${config().OTLP_KAFKA_TOPIC}%` })) >= 2, 30_000, "two dead letters");
    const letters = await queryRows<{ reason: string }>(store().reader, "test", "SELECT reason FROM dead_letters FINAL WHERE topic LIKE {t:String} ORDER BY reason", { t: `${config().OTLP_KAFKA_TOPIC}%` });
    expect(letters.map((l) => l.reason)).toEqual([
      expect.stringMatching(/^otlp: trace \w+ span \w+: tool span has no gen_ai.agent.id/),
      expect.stringMatching(/^otlp_json: invalid JSON/),
    ]);
    expect(await agentOf("orphan-call")).toBeUndefined();
  });

  it("one story told as native events and as OTel spans gives the same post-revocation pairs, containment and alerts", async () => {
    const spans = await otelSpans("o");
    // Half of the spans as protobuf, half as JSON, in reverse order (children before parents).
    const reversed = [...spans].reverse();
    for (const [i, s] of reversed.entries()) await sendSpans([s], i % 2 ? "otlp_proto" : "otlp_json", true);
    await produceJson(producer, config().KAFKA_TOPIC, [...controlEvents("o"), ...controlEvents("n"), ...nativeActions("n")]);
    await eventually(async () => (await count("SELECT count() FROM events FINAL WHERE event_id LIKE 'o-call-%'")) === 4, 30_000, "four OTLP actions");
    // 2×2 control events + 4 native actions on the events topic (the OTLP actions never travel
    // it: they are stored and evaluated before their exports are committed).
    await waitUntilConsumed(4 + 4);
    const r = store().reader;
    const strip = (rows: Record<string, unknown>[], p: string) => JSON.parse(JSON.stringify(rows).replaceAll(`"${p}-`, '"X-'));
    const pairs = (p: string) => queryRows<Record<string, unknown>>(r, "test",
      `SELECT event_id, revocation_id, violation, via, time, agent_id, session_id, credential_id, layer, action, resource, decision
       FROM post_revocation_actions FINAL WHERE revocation_id = {rev:String} ORDER BY time, event_id`, { rev: `${p}-rev` });
    const status = (p: string) => queryRows<Record<string, unknown>>(r, "test",
      `SELECT containment, layers, violation_count, blocked_count FROM revocation_status FINAL WHERE event_id = {rev:String}`, { rev: `${p}-rev` });
    const alerts = (p: string) => queryRows<Record<string, unknown>>(r, "test",
      `SELECT rule, severity, agent_id, layers_enforcing, layers_leaking, violation_count, sample_event_ids FROM alerts FINAL WHERE revocation_id = {rev:String} ORDER BY rule`, { rev: `${p}-rev` });
    const native = { pairs: strip(await pairs("n"), "n"), status: strip(await status("n"), "n"), alerts: strip(await alerts("n"), "n") };
    const otel = { pairs: strip(await pairs("o"), "o"), status: strip(await status("o"), "o"), alerts: strip(await alerts("o"), "o") };
    // The story has violations (after the revocation, allowed) and a block (the 403): not an empty comparison.
    expect(native.pairs.length).toBe(3);
    expect(native.alerts.length).toBeGreaterThan(0);
    expect(otel).toEqual(native);
  });

  it("puts the spans that are not tool calls on the agent's timeline as context, attributed whatever order they arrived in", async () => {
    const src = new OtelSource({ "service.name": "ctx-planner" });
    const agent = src.agent("ctx-agent", T + 100);
    const chat = src.step("chat gpt-5", T + 101, agent);
    src.tool({ tool: "crm.read", callId: "ctx-call", time: T + 102 }, chat);
    const [tool] = await src.take();
    chat.end(T + 110);
    const [chatSpan] = await src.take();
    agent.end(T + 120);
    const [agentSpan] = await src.take();
    // Another agent's model call, and a span naming ctx-agent through its resource in a trace
    // of its own (no invoke_agent span).
    const other = new OtelSource({ "service.name": "ctx-other" });
    const otherAgent = other.agent("ctx-other-agent", T + 105);
    other.step("chat other", T + 106, otherAgent).end(T + 107);
    otherAgent.end(T + 108);
    const named = new OtelSource({ "service.name": "ctx-embedder", "gen_ai.agent.id": "ctx-agent" });
    named.step("embeddings text-3", T + 103).end(T + 104);
    // Children first, the invoke_agent span last: the model call's agent is known only then.
    await sendSpans([tool], "otlp_json");
    await sendSpans([chatSpan], "otlp_proto", true);
    await sendSpans([...(await other.take()), ...(await named.take())], "otlp_json");
    await sendSpans([agentSpan], "otlp_proto", true);
    expect(await eventually(() => agentOf("ctx-call"), 30_000, "the tool call's action")).toBe("ctx-agent");

    // The messages went to different partitions: the one naming ctx-agent may be stored last.
    await eventually(async () => (await count("SELECT count() FROM otlp_spans FINAL WHERE service LIKE 'ctx-%'")) === 6, 30_000, "every span stored");
    const timeline = await agentTimeline(store().reader, "ctx-agent", {}, undefined, 100);
    expect(timeline.items.map((e) => e.event_id)).toEqual(["ctx-call"]);
    // The invoke_agent span, its model call and the span naming the agent: context, newest
    // first; the tool call is an action, not context; the other agent's spans are not here.
    expect(timeline.context.map((c) => [c.name, c.role, c.service])).toEqual([
      ["embeddings text-3", "other", "ctx-embedder"],
      ["chat gpt-5", "other", "ctx-planner"],
      ["invoke_agent ctx-agent", "agent", "ctx-planner"],
    ]);
    expect(timeline.context_truncated).toBe(false);
    expect(timeline.context[1]).toMatchObject({ trace_id: chatSpan.spanContext().traceId, span_id: chatSpan.spanContext().spanId, parent_span_id: agentSpan.spanContext().spanId });
    expect((await agentTimeline(store().reader, "ctx-other-agent", {}, undefined, 100)).context.map((c) => c.name)).toEqual(["chat other", "invoke_agent ctx-other-agent"]);
    // A range that ends before the model call keeps only the invoke_agent span.
    const early = await agentTimeline(store().reader, "ctx-agent", { to: new Date(T + 100).toISOString() }, undefined, 100);
    expect(early.context.map((c) => c.name)).toEqual(["invoke_agent ctx-agent"]);
  });
});
