/**
 * The shortcut past zod (lib/events/plain-action.ts) accepts only what validateEvent accepts,
 * and stores exactly what validateEvent would store; the actions that tool spans really map
 * to, and the actions producers send to the events topic, take the shortcut.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMessage } from "@/lib/events/decode";
import { plainActionOrNull } from "@/lib/events/plain-action";
import { MAX_EPOCH_MS, MAX_FUTURE_SKEW_MS, MIN_EVENT_TIME_MS, validateEvent } from "@/lib/events/schema";
import { validateActions } from "@/lib/otlp/actions";
import { withAgent } from "@/lib/otlp/batch";
import { toolAction, type OtlpMapping } from "@/lib/otlp/map";
import type { SpanRecord } from "@/lib/otlp/spans";

const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const mapping: OtlpMapping = { serviceLayers: {}, defaultLayer: "tool", denyHttpStatus: [401, 403], denyErrorTypes: ["forbidden"] };

const span = (over: Partial<SpanRecord> = {}): SpanRecord => ({
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
  parentSpanId: "",
  name: "execute_tool crm.export",
  kind: "internal",
  startMs: NOW - 60_000,
  endMs: NOW - 59_000,
  statusCode: "unset",
  statusMessage: "",
  attrs: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "crm.export", "gen_ai.tool.call.id": "call-1", "gen_ai.conversation.id": "conv-1" },
  resource: { "service.name": "crm-agent", "revenant.credential.id": "cred-7", "revenant.pipeline.id": "pipe-1" },
  scope: "agent-sdk",
  exportId: "otlp_spans/0/17",
  ...over,
}) as SpanRecord;

/** The action's JSON as the intake hands it to validation, parsed again. */
const mapped = (s: SpanRecord, agent = "agent-42"): unknown => JSON.parse(withAgent(JSON.stringify(toolAction(s, mapping)), agent).json);

const text = (n: number, c = "a") => c.repeat(n);
/** Values at and around every bound schema v1 sets, and of every wrong type. */
const anyValue = fc.constantFrom<unknown>(
  "", "x", text(63), text(64), text(65), text(127), text(128), text(129), text(255), text(256), text(257), text(2048), text(2049),
  "id-\ud800", "\udc00", "ok-\ud83d\udc80", "ABCDEF0123", "abc", "g1", text(32, "f"), text(33, "f"), text(64, "0"), text(65, "0"),
  "action", "revocation", "allow", "deny", "unknown", "maybe", "low", "critical", "severe", "HIGH",
  // Times as text: the shapes RFC 3339 allows, impossible dates, and the accepted window's edges (NOW ± skew, 2000, 2299).
  "2026-11-29T11:00:00Z", "2026-13-45T00:00:00Z", "2026-11-29T11:00:00.123456Z", "2026-11-29 11:00:00+02:00", "2026-11-29t11:00:00z",
  "2026-11-29T11:00:00", "2026-11-29T11:00:60Z", "2024-02-29T10:00:00Z", "2023-02-29T10:00:00Z", "1999-12-31T23:59:59.999Z",
  "2000-01-01T00:00:00Z", "2000-01-01T00:30:00+01:00", "2026-11-30T12:00:00.000Z", "2026-11-30T12:00:00.001Z", "2026-11-30T13:00:00+01:00",
  "2299-12-31T23:59:59.999Z", "2300-01-01T00:00:00Z", " 2026-11-29T11:00:00Z",
  0, -1, 1.5, 42, NOW, NOW - 0.5, MIN_EVENT_TIME_MS - 1, MIN_EVENT_TIME_MS, NOW + MAX_FUTURE_SKEW_MS, NOW + MAX_FUTURE_SKEW_MS + 1, MAX_EPOCH_MS, MAX_EPOCH_MS + 1,
  true, false, null, [], ["a"], {}, { a: 1 }, { a: [1] }, { a: null }, { a: { b: "c" } }, { "k\ud800": "v" }, { k: "v\udfff" }, { prototype: "p", n: 1, b: false },
);
const FIELDS = [
  "event_id", "type", "time", "agent_id", "layer", "action", "decision", "trace_id", "span_id", "resource",
  "session_id", "credential_id", "pipeline_id", "source", "attributes", "sensitivity", "revocation", "credential", "constructor", "toString", "extra",
];

function agrees(value: unknown): void {
  const plain = plainActionOrNull(value, NOW);
  const full = validateEvent(value, NOW);
  if (plain === null) return;
  expect(full.ok, `the shortcut accepted what the schema refuses: ${JSON.stringify(value)}`).toBe(true);
  expect(plain).toEqual(full.ok && full.event);
}

/** An action as producers write it to the events topic (docs/EVENTS.md): time as text, a sensitivity. */
const native = {
  event_id: "evt-1", type: "action", time: "2026-11-29T11:00:00.250Z", agent_id: "agent-42", pipeline_id: "pipe-1", session_id: "sess-1",
  credential_id: "cred-7", layer: "gateway", source: "mcp-tools-1", action: "tools/call", resource: "tool://search/3", decision: "allow",
  sensitivity: "low", trace_id: "0AF7651916CD43DD8448EB211C80319C",
};

describe("the shortcut past the schema", () => {
  it.each([
    ["a mapped tool span", () => mapped(span()) as Record<string, unknown>],
    ["a native action", () => native],
  ])("never accepts what validateEvent refuses, and stores what it stores (%s, edited)", (_name, base) => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...FIELDS), anyValue, fc.boolean()), { maxLength: 4 }), (edits) => {
        const value: Record<string, unknown> = { ...base() };
        for (const [field, v, remove] of edits) {
          if (remove) delete value[field];
          else value[field] = v;
        }
        agrees(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 10_000 },
    );
  });

  it("is what native actions take, with their time as text in any offset", () => {
    for (const time of ["2026-11-29T11:00:00.250Z", "2026-11-29T12:00:00+01:00", "2026-11-29 11:00:00Z", "2000-01-01T00:00:00.000Z"]) {
      const value = { ...native, time };
      expect(plainActionOrNull(value, NOW), time).not.toBeNull();
      agrees(value);
    }
  });

  it("leaves the window's edges to the schema, which gives the reason", () => {
    const early = { ...native, time: "1999-12-31T23:59:59.999Z" };
    const ahead = { ...native, time: "2026-11-30T12:00:00.001Z" };
    for (const value of [early, ahead]) expect(plainActionOrNull(value, NOW)).toBeNull();
    expect(decodeMessage(Buffer.from(JSON.stringify(early)), NOW)).toEqual({
      ok: false,
      reason: "time: 1999-12-31T23:59:59.999Z is before 2000-01-01T00:00:00Z, the earliest event time accepted",
    });
    expect(decodeMessage(Buffer.from(JSON.stringify(ahead)), NOW)).toEqual({ ok: false, reason: "time: 2026-11-30T12:00:00.001Z is more than 24 h in the future" });
    expect(plainActionOrNull({ ...native, time: "2026-11-30T12:00:00.000Z" }, NOW)).not.toBeNull();
  });

  it("leaves hostile field names to the schema", () => {
    const json = JSON.stringify(mapped(span()));
    const top = JSON.parse(`{"__proto__":{"polluted":true},${json.slice(1)}`);
    expect(plainActionOrNull(top, NOW)).toBeNull();
    expect(validateEvent(top, NOW).ok).toBe(false);
    const inAttributes = JSON.parse(json.replace('"attributes":{', '"attributes":{"__proto__":"v",'));
    expect(plainActionOrNull(inAttributes, NOW)).toBeNull();
    expect(validateEvent(inAttributes, NOW).ok).toBe(false);
  });

  it("is what mapped tool spans take, also with every optional attribute set", () => {
    const denied = span({
      statusCode: "error",
      statusMessage: "HTTP 403",
      attrs: { ...span().attrs, "error.type": "forbidden", "http.response.status_code": 403, "mcp.method.name": "tools/call", "gen_ai.agent.name": "crm" },
    });
    for (const s of [span(), denied, span({ attrs: { "mcp.method.name": "tools/call" }, resource: {} })]) {
      const value = mapped(s);
      expect(plainActionOrNull(value, NOW), JSON.stringify(value)).not.toBeNull();
      agrees(value);
    }
  });

  it("gives the schema's reasons for the actions it leaves to it", () => {
    const longLayer = withAgent(JSON.stringify(toolAction(span({ resource: { "revenant.layer": text(65) } }), mapping)), "agent-42");
    const early = withAgent(JSON.stringify(toolAction(span({ startMs: 0 }), mapping)), "agent-42");
    const { rows, invalid } = validateActions([longLayer, early], NOW);
    expect(rows).toEqual([]);
    expect(invalid.map((i) => i.reason)).toEqual([
      "schema: layer: Too big: expected string to have <=64 characters",
      "time: 1970-01-01T00:00:00.000Z is before 2000-01-01T00:00:00Z, the earliest event time accepted",
    ]);
  });
});
