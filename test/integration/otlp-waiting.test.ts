/**
 * Tool spans that name no agent wait in the span store (lib/otlp/store.ts) until their
 * invoke_agent ancestor arrives, in a later batch, among the spans of thousands of other traces.
 * The store finds a batch's waiting spans either by matching the few traces that have any against
 * the batch's here, or (when many traces wait) by passing the batch's trace ids to the engine:
 * both ways must complete the same spans, once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratedStore } from "../helpers/store";
import { queryRows, type Store } from "@/lib/store/clickhouse";
import { CLAIMED, EMITTED, NO_AGENT, SpanBatch, WAITING, type BatchSource } from "@/lib/otlp/batch";
import { agentContext } from "@/lib/queries/agent-context";
import type { SpanRecord } from "@/lib/otlp/spans";
import { SpanStore } from "@/lib/otlp/store";

const mapping = { serviceLayers: {}, defaultLayer: "tool", denyHttpStatus: [403], denyErrorTypes: [] };
const source = { topic: "otlp.test", partition: 0, mapping, keepContextSpans: false };
const hex = (n: number, length: number) => n.toString(16).padStart(length, "0");

function span(trace: number, id: number, parent: number | null, attrs: SpanRecord["attrs"], resource: SpanRecord["resource"] = {}): SpanRecord {
  return {
    traceId: hex(trace, 32), spanId: hex(id, 16), parentSpanId: parent === null ? "" : hex(parent, 16),
    name: String(attrs["gen_ai.operation.name"] ?? "step"), kind: "internal", startMs: Date.now() - 60_000 + id, endMs: Date.now(),
    statusCode: "unset", statusMessage: "", attrs, resource, scope: "test", exportId: "",
  };
}
const toolCall = (trace: number, id: number, parent: number, callId: string) =>
  span(trace, id, parent, { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.id": callId, "gen_ai.tool.name": "search" });
const invokeAgent = (trace: number, id: number, agent: string) => span(trace, id, null, { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": agent });

/** Maps and stores one batch of spans; returns the actions completed from waiting spans, by call id → agent. */
async function ingest(spans: SpanStore, batchSpans: SpanRecord[], from: BatchSource = source): Promise<{ ready: string[]; completed: Record<string, string> }> {
  const batch = new SpanBatch(from);
  const ready = batch.addSpans(batchSpans).map((a) => (JSON.parse(a.json) as { event_id: string }).event_id);
  const done = await spans.ingest(batch.result());
  await done.settle();
  const completed = Object.fromEntries(done.actions.map((a) => [(JSON.parse(a.json) as { event_id: string }).event_id, a.agent_id]));
  return { ready, completed };
}

describe("OTLP tool spans waiting for their agent", () => {
  let s: Store;
  beforeAll(async () => {
    s = await migratedStore("otlp-waiting");
  });
  afterAll(async () => s.close());

  it.each([
    ["matched against the few waiting traces", 10_000, 1],
    ["matched in the engine, with more traces waiting than the store matches itself", 2, 2],
  ])("completes a waiting tool span once its ancestor arrives among other traces' spans (%s)", async (_, maxWaitingTraces, run) => {
    const spans = new SpanStore(s.writer, maxWaitingTraces);
    const base = run * 1_000_000;
    // Batch 1: three tool calls without an agent, in traces whose root has not arrived yet.
    const first = await ingest(spans, [toolCall(base + 1, 11, 10, `late-${run}`), toolCall(base + 2, 21, 20, `never-${run}`), toolCall(base + 3, 31, 30, `other-${run}`)]);
    expect(first).toEqual({ ready: [], completed: {} });

    // Batch 2: the first call's invoke_agent root, among 3,000 tool calls of other traces that name their agent.
    const crowd = Array.from({ length: 3_000 }, (_, i) => span(base + 100 + i, 1000 + i, null, { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.id": `crowd-${run}-${i}` }, { "gen_ai.agent.id": "crowd-agent" }));
    const second = await ingest(spans, [...crowd.slice(0, 1_500), invokeAgent(base + 1, 10, `agent-${run}`), ...crowd.slice(1_500)]);
    expect(second.ready).toHaveLength(3_000);
    expect(second.completed).toEqual({ [`late-${run}`]: `agent-${run}` });

    // The root delivered again: its tool call was already completed, and is not handed out twice.
    // The third call's root arrives with it.
    const third = await ingest(spans, [invokeAgent(base + 1, 10, `agent-${run}`), invokeAgent(base + 3, 30, `third-${run}`)]);
    expect(third.completed).toEqual({ [`other-${run}`]: `third-${run}` });
  });

  it.each([
    ["timeline", false, ["chat", "invoke_agent"]],
    ["skip", true, ["invoke_agent"]],
  ])("with OTLP_CONTEXT_SPANS=%s, resolves a tool call's agent through a model call between them, and shows context accordingly", async (mode, skip, shown) => {
    const spans = new SpanStore(s.writer);
    const trace = skip ? 9_000_001 : 9_000_002;
    const agent = `context-agent-${mode}`;
    const modelCall = span(trace, 11, 10, { "gen_ai.operation.name": "chat" });
    // The tool call and the model call above it arrive first; the invoke_agent root after them.
    const first = await ingest(spans, [toolCall(trace, 12, 11, `context-call-${mode}`), modelCall], { ...source, skipContextSpans: skip });
    expect(first.completed).toEqual({});
    const second = await ingest(spans, [invokeAgent(trace, 10, agent)], { ...source, skipContextSpans: skip });
    expect(second.completed).toEqual({ [`context-call-${mode}`]: agent });
    const { spans: context } = await agentContext(s.reader, agent, {}, 100);
    expect(context.map((c) => c.name).sort()).toEqual(shown);
  });
});

describe("OTLP tool spans that wait too long for their agent", () => {
  let s: Store;
  beforeAll(async () => {
    s = await migratedStore("otlp-expiry");
  });
  afterAll(async () => s.close());
  const soon = () => new Date(Date.now() + 60_000);
  const eventIdOf = (json: string) => (JSON.parse(json) as { event_id: string }).event_id;

  it("gives up a span it has claimed even when its ancestor arrives before the letter is stored, and a batch completes nothing of it", async () => {
    const spans = new SpanStore(s.writer);
    await ingest(spans, [toolCall(7_000_001, 11, 10, "claimed-call")]);
    const expired = await spans.expireWaiting(soon(), "1 min");
    expect(expired.actions).toEqual([]);
    expect(expired.orphans).toMatchObject([{ spanId: hex(11, 16), reason: `no invoke_agent ancestor arrived within 1 min (span ${hex(10, 16)}, an ancestor, never did)` }]);
    // The ancestor arrives while the letter is on its way: the batch finds the span claimed.
    const late = await ingest(spans, [invokeAgent(7_000_001, 10, "late-agent")]);
    expect(late.completed).toEqual({});
    await expired.settle();
    expect(await spans.expireWaiting(soon(), "1 min")).toMatchObject({ actions: [], orphans: [] });
  });

  it("hands out the action of a span whose agent a batch in flight has just brought, the same action the batch hands out", async () => {
    const spans = new SpanStore(s.writer);
    const batch = new SpanBatch(source);
    batch.addSpans([toolCall(7_000_002, 21, 20, "raced-call")]);
    await (await spans.ingest(batch.result())).settle();
    // A batch stores the ancestor and finds the span, but has not settled it when the expiry looks.
    const ancestor = new SpanBatch(source);
    ancestor.addSpans([invokeAgent(7_000_002, 20, "raced-agent")]);
    const inFlight = await spans.ingest(ancestor.result());
    const expired = await spans.expireWaiting(soon(), "1 min");
    expect(expired.orphans).toEqual([]);
    expect(expired.actions.map((a) => [eventIdOf(a.json), a.agent_id])).toEqual([["raced-call", "raced-agent"]]);
    expect(expired.actions[0].json).toBe(inFlight.actions[0].json); // one event_id, one content: stored once
    await inFlight.settle();
    await expired.settle();
    expect(await spans.expireWaiting(soon(), "1 min")).toMatchObject({ actions: [], orphans: [] });
  });

  it("counts the wait from a span's latest delivery, whatever the merges have kept", async () => {
    const spans = new SpanStore(s.writer);
    const redelivered = () => ingest(spans, [toolCall(7_000_003, 31, 30, "redelivered-call")]);
    await redelivered();
    const firstStored = Date.now();
    await new Promise((r) => setTimeout(r, 200));
    const secondSent = Date.now();
    await redelivered();
    const secondStored = Date.now();
    // A cut between the two deliveries, then one just after the second: no wall-clock window
    // the host must keep to, however slow it is.
    const between = new Date(firstStored + Math.floor((secondSent - firstStored) / 2));
    expect((await spans.expireWaiting(between, "1 s")).orphans).toEqual([]);
    await s.writer.command({ query: "OPTIMIZE TABLE otlp_waiting FINAL" });
    expect((await spans.expireWaiting(between, "1 s")).orphans).toEqual([]);
    expect((await spans.expireWaiting(new Date(secondStored + 1), "1 s")).orphans.map((o) => o.spanId)).toEqual([hex(31, 16)]);
  });

  it("purges settled spans whole by their latest row, and leaves no span waiting again nor any still waiting or claimed", async () => {
    const day = 86_400_000;
    const ago = (days: number) => new Date(Date.now() - days * day).toISOString().replace("T", " ").replace("Z", "");
    const trace = (n: number) => hex(n, 32);
    const version = (n: number, state: number, days: number) => ({ trace_id: trace(n), span_id: hex(1, 16), parent_span_id: hex(2, 16), action: "{}", state, waiting_since: ago(days) });
    // One insert per version, as they come (versions of one insert are merged as they are written).
    for (const row of [
      version(9_000_001, WAITING, 33), version(9_000_001, EMITTED, 31), // settled a month ago: purged
      version(9_000_002, WAITING, 40), version(9_000_002, NO_AGENT, 35), version(9_000_002, WAITING, 2), // delivered again since: kept
      version(9_000_003, WAITING, 40), // still waiting, however old: the expiry's
      version(9_000_004, WAITING, 40), version(9_000_004, CLAIMED, 35), // claimed, not settled yet: the expiry's
      version(9_000_005, WAITING, 40), version(9_000_005, EMITTED, 35), version(9_000_005, WAITING, 31), // delivered again a month ago: purged whole
    ]) await s.writer.insert({ table: "otlp_waiting", format: "JSONEachRow", values: [row] });
    const purged = await new SpanStore(s.writer).purgeSettled(new Date(Date.now() - 30 * day));
    const left = await queryRows<{ trace_id: string; state: number }>(
      s.reader, "test", "SELECT trace_id, max(state) AS state FROM otlp_waiting WHERE trace_id IN {t:Array(String)} GROUP BY trace_id ORDER BY trace_id",
      { t: [1, 2, 3, 4, 5].map((i) => trace(9_000_000 + i)) },
    );
    // The redelivered span is kept settled while its waiting version is a row of its own; a merge
    // before the purge keeps only its settled version (35 days old), and then it goes whole.
    const redeliveredKept = left.some((r) => r.trace_id === trace(9_000_002));
    expect(purged).toBe(redeliveredKept ? 2 : 3);
    expect(left.map((r) => [r.trace_id, Number(r.state)])).toEqual([
      ...(redeliveredKept ? [[trace(9_000_002), NO_AGENT]] : []),
      [trace(9_000_003), WAITING],
      [trace(9_000_004), CLAIMED],
    ]);
  });
});
