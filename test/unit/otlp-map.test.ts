/**
 * OTLP decoding and mapping with spans made by the real OpenTelemetry JS SDK and
 * serialised by its own OTLP serialisers, in both encodings.
 */
import { describe, expect, it } from "vitest";
import { decodeOtlpMessage } from "@/lib/otlp";
import { exportCoordinatesOf, exportIdOf, withAgent } from "@/lib/otlp/batch";
import { ownAgent, spanRole, toolAction, type OtlpMapping } from "@/lib/otlp/map";
import { walk } from "@/lib/otlp/store";
import type { SpanRecord } from "@/lib/otlp/spans";
import { OtelSource, serialise } from "../helpers/otel";

const mapping: OtlpMapping = { serviceLayers: { "mcp-gw": "gateway" }, defaultLayer: "tool", denyHttpStatus: [401, 403], denyErrorTypes: ["forbidden", "401", "403"] };
const T = Date.UTC(2026, 10, 2, 9, 0, 0);

function decoded(bytes: Buffer, encoding: "otlp_proto" | "otlp_json"): SpanRecord[] {
  const m = decodeOtlpMessage(bytes, encoding);
  if (!m.ok) throw new Error(m.reason);
  expect(m.problems).toEqual([]);
  return m.spans;
}

describe.each(["otlp_proto", "otlp_json"] as const)("OTLP %s from the OpenTelemetry SDK", async (encoding) => {
  const src = new OtelSource({ "service.name": "crm-agent", "revenant.credential.id": "cred-7", "revenant.pipeline.id": "pipe-1" });
  const agent = src.agent("agent-42", T, { "gen_ai.conversation.id": "conv-1" });
  const step = src.step("chat gpt-5", T + 1, agent);
  const tool = src.tool({ tool: "crm.export", callId: "call-abc", time: T + 1234, attributes: { "gen_ai.conversation.id": "conv-1" } }, step);
  src.tool({ tool: "crm.delete", time: T + 2000, errorType: "forbidden", attributes: { "revenant.layer": "saas" } }, step);
  step.end(T + 3000);
  agent.end(T + 3001);
  const spans = decoded(serialise(await src.take(), encoding), encoding);
  const byName = (n: string) => spans.find((s) => s.name === n)!;

  it("keeps ids, parents and times", () => {
    const t = byName("execute_tool crm.export");
    expect(t.traceId).toBe(tool.spanContext().traceId);
    expect(t.spanId).toBe(tool.spanContext().spanId);
    expect(t.parentSpanId).toBe(step.spanContext().spanId);
    expect(t.startMs).toBe(T + 1234);
    expect(byName("invoke_agent agent-42").parentSpanId).toBe("");
    expect(spans.map(spanRole).sort()).toEqual(["agent", "other", "tool", "tool"]);
  });

  it("maps a tool call to a schema-v1 action as the README's OpenTelemetry table says", () => {
    const a = toolAction(byName("execute_tool crm.export"), mapping);
    expect(a).toMatchObject({
      event_id: "call-abc", type: "action", time: T + 1234, action: "execute_tool", resource: "crm.export", decision: "allow",
      layer: "tool", session_id: "conv-1", credential_id: "cred-7", pipeline_id: "pipe-1", source: "crm-agent",
      trace_id: tool.spanContext().traceId, span_id: tool.spanContext().spanId,
    });
    expect(a.attributes).toMatchObject({ "revenant.origin": "otlp", "otel.service.name": "crm-agent" });
    // No agent id on the span or its resource: it must come from the invoke_agent ancestor.
    expect(ownAgent(byName("execute_tool crm.export"))).toBe("");
  });

  it("gives a span that names its agent the same action text as one whose agent an ancestor gave later", () => {
    // The text is what a repeat is told from a conflict by (its content hash): a span must map
    // to the same text whichever way its agent became known.
    for (const s of [byName("execute_tool crm.export"), byName("execute_tool crm.delete")]) {
      const named = JSON.stringify(toolAction(s, mapping, "agent-42"));
      expect(named).toBe(withAgent(JSON.stringify(toolAction(s, mapping)), "agent-42").json);
      expect(JSON.parse(named)).toMatchObject({ agent_id: "agent-42", event_id: toolAction(s, mapping).event_id });
    }
  });

  it("a tool call refused for authorization is a deny; without a call id the event id is trace+span", () => {
    const s = byName("execute_tool crm.delete");
    const a = toolAction(s, mapping);
    expect(a).toMatchObject({ decision: "deny", layer: "saas", event_id: s.traceId + s.spanId });
    expect(toolAction(s, { ...mapping, denyErrorTypes: [] }).decision).toBe("allow");
  });
});

describe("MCP tools/call and service layers", () => {
  it("takes the session from mcp.session.id, the agent from the resource and the layer from service.name", async () => {
    const src = new OtelSource({ "service.name": "mcp-gw", "gen_ai.agent.id": "agent-res" });
    src.mcpCall("files.read", "mcp-sess-9", T, { "http.response.status_code": 403 });
    const [s] = decoded(serialise(await src.take(), "otlp_proto"), "otlp_proto");
    expect(spanRole(s)).toBe("tool");
    expect(ownAgent(s)).toBe("agent-res");
    expect(toolAction(s, mapping)).toMatchObject({ action: "tools/call", session_id: "mcp-sess-9", layer: "gateway", decision: "deny", resource: "files.read" });
  });
});

describe("malformed messages", () => {
  it("names the reason", () => {
    expect(decodeOtlpMessage(Buffer.from("{not json"), "otlp_json")).toMatchObject({ ok: false, reason: expect.stringContaining("invalid JSON") });
    expect(decodeOtlpMessage(Buffer.from([0x0a, 0xff, 0xff]), "otlp_proto")).toMatchObject({ ok: false, reason: expect.stringContaining("invalid OTLP protobuf") });
    expect(decodeOtlpMessage(Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}'), "otlp_json"))
      .toMatchObject({ ok: false, reason: expect.stringContaining("not a hex string") });
    const bad = decodeOtlpMessage(Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","spanId":"0102030405060708"}]}]}]}'), "otlp_json");
    expect(bad).toMatchObject({ ok: true, spans: [], problems: [{ reason: expect.stringContaining("16 bytes") }] });
  });
});

describe("the ancestor walk", () => {
  const tree = new Map([
    ["t/a", { parent_span_id: "", role: "agent", agent_id: "outer" }],
    ["t/b", { parent_span_id: "a", role: "agent", agent_id: "inner" }],
    ["t/c", { parent_span_id: "b", role: "other", agent_id: "" }],
    ["t/r", { parent_span_id: "", role: "other", agent_id: "" }],
  ]);
  it("finds the nearest invoke_agent, waits for a missing ancestor, and gives up at a root without one", () => {
    expect(walk(tree, { trace_id: "t", parent_span_id: "c" })).toEqual({ agent: "inner" });
    expect(walk(tree, { trace_id: "t", parent_span_id: "a" })).toEqual({ agent: "outer" });
    expect(walk(tree, { trace_id: "t", parent_span_id: "missing" })).toEqual({ missing: "missing" });
    expect(walk(tree, { trace_id: "t", parent_span_id: "r" })).toMatchObject({ reason: expect.stringContaining("no invoke_agent ancestor") });
  });

  it("names the nearest ancestor that has not arrived", () => {
    const gap = new Map([...tree, ["t/d", { parent_span_id: "gone", role: "other", agent_id: "" }], ["t/e", { parent_span_id: "d", role: "other", agent_id: "" }]]);
    expect(walk(gap, { trace_id: "t", parent_span_id: "e" })).toEqual({ missing: "gone" });
  });
});

describe("export ids", () => {
  it("name the topic, partition and offset an export was read at, and read back", () => {
    const at = { topic: "otlp_spans", partition: 2, offset: "123456789012" };
    expect(exportIdOf(at)).toBe("otlp_spans/2/123456789012");
    expect(exportCoordinatesOf(exportIdOf(at))).toEqual(at);
    expect(exportCoordinatesOf("")).toBeNull();
    expect(exportCoordinatesOf("otlp_spans/2")).toBeNull();
  });
});
