/**
 * The shortcut past the generated OTLP/JSON reader (lib/otlp/json-spans.ts) gives the spans the
 * generated reader and flattenSpans give, and leaves every message it does not fully recognise
 * to them: over exports serialised by the OpenTelemetry SDK and over mutations of them.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeOtlpMessage } from "@/lib/otlp";
import { fromOtlpJson } from "@/lib/otlp/codec";
import { plainJsonSpans } from "@/lib/otlp/json-spans";
import { flattenSpans } from "@/lib/otlp/spans";
import { OtelSource, serialise } from "../helpers/otel";

const T = Date.UTC(2026, 10, 29, 9, 0, 0);

async function sdkExport(): Promise<string> {
  const src = new OtelSource({ "service.name": "crm-agent", "revenant.credential.id": "cred-7", "host.cores": 8, "load": 0.5, "ready": true, "tags": ["a", "b"] } as never);
  const agent = src.agent("agent-42", T, { "gen_ai.conversation.id": "conv-1" });
  const step = src.step("chat gpt-5", T + 1, agent);
  src.tool({ tool: "crm.export", callId: "call-abc", time: T + 1234, attributes: { "gen_ai.conversation.id": "conv-1", "http.response.status_code": 200 } }, step);
  src.tool({ tool: "crm.delete", time: T + 2000, errorType: "forbidden", attributes: { "revenant.layer": "saas" } }, step);
  step.end(T + 3000);
  agent.end(T + 3001);
  return serialise(await src.take(), "otlp_json").toString("utf8");
}

/** What the generated reader and flattenSpans make of the text, or null when they refuse it. */
function generated(text: string) {
  try {
    return flattenSpans(fromOtlpJson(JSON.parse(text)));
  } catch {
    return null;
  }
}

function agrees(text: string): void {
  const plain = plainJsonSpans(JSON.parse(text));
  if (plain === null) return;
  const reference = generated(text);
  expect(reference, `the shortcut read what the generated reader refuses: ${text}`).not.toBeNull();
  expect(reference!.problems).toEqual([]);
  expect(plain).toEqual(reference!.spans);
}

type Path = (string | number)[];

/** Every place in a JSON tree: the paths to its values. */
function paths(v: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

type Edit = { kind: "set"; value: unknown } | { kind: "delete" } | { kind: "rename"; to: string };

function edited(root: unknown, path: Path, edit: Edit): unknown {
  const copy = structuredClone(root);
  if (path.length === 0) return edit.kind === "set" ? edit.value : copy;
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const key = path[path.length - 1];
  if (edit.kind === "set") parent[key] = edit.value;
  else if (edit.kind === "delete") {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (!Array.isArray(parent)) {
    parent[edit.to] = parent[key];
    delete parent[key];
  }
  return copy;
}

const oddValue = fc.constantFrom<unknown>(
  null, 0, 1, -1, 1.5, 2 ** 53, "1793610001234000000", "18446744073709551615", "18446744073709551616", "-5", "9223372036854775808", "abc", "",
  "00000000000000000000000000000000", "0000000000000000", "ABCDEF0123456789", "ABCDEF0123456789ABCDEF0123456789", "abcdef0123456789abcdef0123456789", "abcdef012345678", "zz",
  "SPAN_KIND_SERVER", "STATUS_CODE_ERROR", "SPAN_KIND_NOPE", 7, true, [], [{}], [null], {}, { stringValue: "x" }, { intValue: "12" },
  { intValue: 12.5 }, { doubleValue: "NaN" }, { bytesValue: "aGk=" }, { boolValue: "true" }, { stringValue: "x", boolValue: true },
  { arrayValue: { values: [{ intValue: 1 }, {}] } }, { kvlistValue: { values: [{ key: "k", value: { stringValue: "v" } }] } },
  { arrayValue: { values: [{ arrayValue: { values: [{ intValue: 1 }, { kvlistValue: { values: [{ key: "k", value: { arrayValue: { values: [{ stringValue: "v" }, {}] } } }] } }] } }] } },
  [{ key: "k" }], [{ key: "k", value: { stringValue: "a" } }, { key: "k", value: { stringValue: "b" } }],
  [{ traceId: "abcdef0123456789abcdef0123456789", spanId: "abcdef0123456789" }],
);
const edit: fc.Arbitrary<Edit> = fc.oneof(
  oddValue.map((value) => ({ kind: "set" as const, value })),
  fc.constant({ kind: "delete" as const }),
  fc.constantFrom("trace_id", "span_id", "start_time_unix_nano", "unknownField", "kind", "name", "resource_spans", "status").map((to) => ({ kind: "rename" as const, to })),
);

describe("OTLP/JSON shortcut", async () => {
  const text = await sdkExport();
  const base = JSON.parse(text);
  const allPaths = paths(base);

  it("reads the SDK's export as the generated reader does, and takes it", () => {
    const plain = plainJsonSpans(JSON.parse(text));
    expect(plain).not.toBeNull();
    expect(plain).toHaveLength(4);
    agrees(text);
    const viaMessage = decodeOtlpMessage(Buffer.from(text), "otlp_json");
    expect(viaMessage.ok && viaMessage.spans).toEqual(generated(text)!.spans);
  });

  it("agrees with the generated reader on mutations of it, or leaves them to it", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(allPaths.length - 1), edit), { minLength: 1, maxLength: 3 }), (edits) => {
        let tree: unknown = base;
        for (const [i, e] of edits) {
          const at = paths(tree);
          tree = edited(tree, at[i % at.length], e);
        }
        agrees(JSON.stringify(tree));
      }),
      { numRuns: 3000 },
    );
  });

  it("reads the forms protobuf JSON allows besides the SDK's as the generated reader does", () => {
    const variants = [
      text.replace(/"(traceId|spanId|parentSpanId)":"([0-9a-f]+)"/g, (_, k, v) => `"${k}":"${v.toUpperCase()}"`),
      text.replaceAll('"kind":1', '"kind":"SPAN_KIND_INTERNAL"').replace('"code":2', '"code":"STATUS_CODE_ERROR"'),
      text.replace(/"intValue":(\d+)/g, '"intValue":"$1"'),
      text.replace(/"startTimeUnixNano":"(\d+)"/, (_, v) => `"startTimeUnixNano":${Number(BigInt(v) / 1_000_000_000n)}`),
      // An all-zero parent is no parent.
      text.replace(/"parentSpanId":"[0-9a-f]+"/, '"parentSpanId":"0000000000000000"'),
    ];
    for (const variant of variants) {
      expect(plainJsonSpans(JSON.parse(variant)), variant).not.toBeNull();
      agrees(variant);
    }
  });

  it("leaves spans with unusable ids to the generated reader, which names the problem", () => {
    const zeroTrace = text.replace(/"traceId":"[0-9a-f]{32}"/, `"traceId":"${"0".repeat(32)}"`);
    expect(plainJsonSpans(JSON.parse(zeroTrace))).toBeNull();
    const decoded = decodeOtlpMessage(Buffer.from(zeroTrace), "otlp_json");
    expect(decoded.ok && decoded.problems.map((p) => p.reason)).toEqual(["span: trace id must be 16 bytes and span id 8 bytes, not all zero"]);
    expect(decoded.ok && decoded.spans).toHaveLength(3);
  });

  it("writes nested lists and maps as JSON once, whatever their depth (both readers)", () => {
    const depth = 24;
    let value: unknown = { stringValue: "x" };
    for (let i = 0; i < depth; i++) value = i % 2 ? { arrayValue: { values: [value] } } : { kvlistValue: { values: [{ key: "k", value }] } };
    const tree = JSON.parse(text);
    tree.resourceSpans[0].scopeSpans[0].spans[0].attributes.push({ key: "nested", value });
    const nested = JSON.stringify(tree);
    let expected: unknown = "x";
    for (let i = 0; i < depth; i++) expected = i % 2 ? [expected] : { k: expected };
    const reference = generated(nested)!.spans[0].attrs.nested;
    expect(reference).toBe(JSON.stringify(expected));
    expect(plainJsonSpans(JSON.parse(nested))![0].attrs.nested).toBe(reference);
  });
});
