/**
 * POST /v1/traces with the OpenTelemetry JS SDK's own OTLP/HTTP exporters (protobuf and
 * JSON, gzip and plain). The route module is served by a plain node:http server that turns
 * each request into a real Request, so the exporters talk real HTTP to the real handler;
 * the export then travels Kafka → the OTLP consumer → the events topic → ClickHouse.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { fromBinary } from "@bufbuild/protobuf";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import { POST } from "@/app/v1/traces/route";
import { StatusSchema } from "@/lib/otlp/gen/google/rpc/status_pb";
import { closeSharedProducer } from "@/lib/kafka";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { otlpJob } from "@/ingest/jobs";
import { startWorker, type Worker } from "@/ingest/worker";
import { TEST_API_KEY } from "../helpers/api";
import { configureTestStack, count, eventually, otlpDrained } from "../helpers/stack";
import { OtelSource, serialise } from "../helpers/otel";
import { T } from "../helpers/otlp-scenario";

let worker: Worker;
let server: http.Server;
let url: string;

beforeAll(async () => {
  configureTestStack({ REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY });
  worker = await startWorker({ jobs: [otlpJob()] });
  server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const response = await POST(new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body: Buffer.concat(chunks) }));
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await worker?.stop();
  await closeSharedProducer();
  await closeStore();
});

function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

async function toolSpans(agent: string, callId: string): Promise<ReadableSpan[]> {
  const src = new OtelSource({ "service.name": "http-agent", "gen_ai.agent.id": agent, "revenant.credential.id": "cred-http" });
  src.tool({ tool: "web.fetch", callId, time: T + 100 });
  return src.take();
}

const stored = async (eventId: string) =>
  (await queryRows<{ agent_id: string; credential_id: string }>(store().reader, "test",
    "SELECT agent_id, credential_id FROM events FINAL WHERE event_id = {id:String}", { id: eventId }))[0];

describe("POST /v1/traces", () => {
  it.each([
    ["protobuf", () => new ProtoExporter({ url, headers: { authorization: `Bearer ${TEST_API_KEY}` } })],
    ["protobuf, gzip", () => new ProtoExporter({ url, headers: { authorization: `Bearer ${TEST_API_KEY}` }, compression: "gzip" as never })],
    ["JSON", () => new JsonExporter({ url, headers: { authorization: `Bearer ${TEST_API_KEY}` } })],
    ["JSON, gzip", () => new JsonExporter({ url, headers: { authorization: `Bearer ${TEST_API_KEY}` }, compression: "gzip" as never })],
  ])("accepts the SDK's %s export and the tool call becomes an action", async (label, make) => {
    const callId = `http-${label.replace(/\W+/g, "-")}`;
    const exporter = make();
    const result = await exportWith(exporter, await toolSpans("http-agent-1", callId));
    expect(result.code, String(result.error)).toBe(ExportResultCode.SUCCESS);
    await exporter.shutdown();
    expect(await eventually(() => stored(callId), 30_000, `action ${callId}`)).toEqual({ agent_id: "http-agent-1", credential_id: "cred-http" });
  });

  it("splits an export larger than a Kafka message and loses none of its spans", async () => {
    const filler = "x".repeat(1000);
    const spans = Array.from({ length: 2500 }, (_, i) => ({
      traceId: (i + 1).toString(16).padStart(32, "0"), spanId: (i + 1).toString(16).padStart(16, "0"), name: "execute_tool big",
      startTimeUnixNano: String(BigInt(T + i) * 1_000_000n),
      attributes: [
        { key: "gen_ai.operation.name", value: { stringValue: "execute_tool" } },
        { key: "gen_ai.tool.call.id", value: { stringValue: `big-${i}` } },
        { key: "filler", value: { stringValue: filler } },
      ],
    }));
    const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: "gen_ai.agent.id", value: { stringValue: "big-agent" } }] }, scopeSpans: [{ spans }] }] });
    expect(body.length).toBeGreaterThan(2_500_000);
    const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" }, body });
    expect(res.status).toBe(200);
    await eventually(async () => (await count("SELECT count() FROM events FINAL WHERE agent_id = 'big-agent'")) === 2500, 60_000, "2,500 actions");
  });

  it("refuses an export without a valid API key", async () => {
    const exporter = new ProtoExporter({ url, headers: { authorization: "Bearer wrong-key" } });
    const result = await exportWith(exporter, await toolSpans("intruder", "http-no-key"));
    expect(result.code).toBe(ExportResultCode.FAILED);
    await exporter.shutdown();
    // OTLP's failure body: a google.rpc.Status in the request's encoding (16: UNAUTHENTICATED).
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 16, message: expect.stringMatching(/^unauthenticated: /) });
    const proto = await fetch(url, { method: "POST", headers: { "content-type": "application/x-protobuf", authorization: "Bearer wrong-key" }, body: Buffer.alloc(0) });
    expect(proto.status).toBe(401);
    expect(proto.headers.get("content-type")).toBe("application/x-protobuf");
    expect(fromBinary(StatusSchema, new Uint8Array(await proto.arrayBuffer()))).toMatchObject({ code: 16, message: expect.stringMatching(/^unauthenticated: /) });
  });

  it("answers partial success for unusable spans, 400 for an undecodable body and 415 for other media types", async () => {
    const auth = { authorization: `Bearer ${TEST_API_KEY}` };
    const body = {
      resourceSpans: [{
        resource: { attributes: [{ key: "gen_ai.agent.id", value: { stringValue: "json-agent" } }] },
        scopeSpans: [{ spans: [
          { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", name: "execute_tool x", startTimeUnixNano: String(BigInt(T) * 1_000_000n),
            attributes: [{ key: "gen_ai.operation.name", value: { stringValue: "execute_tool" } }, { key: "gen_ai.tool.call.id", value: { stringValue: "http-partial-ok" } }] },
          { traceId: "0af7", spanId: "b7ad6b7169203332", name: "bad ids" },
          // A tool call from 1999: its action would be refused (events before 2000 are).
          { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203333", name: "execute_tool old", startTimeUnixNano: String(BigInt(Date.UTC(1999, 0, 1)) * 1_000_000n),
            attributes: [{ key: "gen_ai.operation.name", value: { stringValue: "execute_tool" } }, { key: "gen_ai.tool.call.id", value: { stringValue: "http-partial-1999" } }] },
        ] }],
      }],
    };
    const res = await fetch(url, { method: "POST", headers: { ...auth, "content-type": "application/json", "content-encoding": "gzip" }, body: gzipSync(JSON.stringify(body)) });
    expect(res.status).toBe(200);
    const answer = await res.json();
    expect(answer).toEqual({ partialSuccess: { rejectedSpans: "2", errorMessage: expect.stringContaining("16 bytes") } });
    expect(answer.partialSuccess.errorMessage).toContain("tool span 0af7651916cd43dd8448eb211c80319c/b7ad6b7169203333");
    expect(await eventually(() => stored("http-partial-ok"), 30_000, "the good span's action")).toMatchObject({ agent_id: "json-agent" });
    // The refused tool span is not lost: the consumer dead-letters it with its reason.
    await eventually(
      async () => (await count("SELECT count() FROM dead_letters FINAL WHERE position(topic, 'b7ad6b7169203333') > 0 AND position(reason, '2000') > 0")) === 1,
      30_000,
      "the 1999 span's dead letter",
    );
    expect(await stored("http-partial-1999")).toBeUndefined();

    const bad = await fetch(url, { method: "POST", headers: { ...auth, "content-type": "application/x-protobuf" }, body: Buffer.from([0x0a, 0xff, 0xff]) });
    expect(bad.status).toBe(400);
    expect(fromBinary(StatusSchema, new Uint8Array(await bad.arrayBuffer()))).toMatchObject({ code: 3, message: expect.stringMatching(/^invalid_otlp: /) });
    const text = await fetch(url, { method: "POST", headers: { ...auth, "content-type": "text/plain" }, body: "hi" });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ message: expect.stringMatching(/^unsupported_media_type: /) });
  });

  it("stores an export sent twice (an exporter's retry) once, without a conflicting copy", async () => {
    const body = new Uint8Array(serialise(await toolSpans("retry-agent", "http-retried"), "otlp_proto"));
    const post = () => fetch(url, { method: "POST", headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/x-protobuf" }, body });
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(200);
    await eventually(otlpDrained, 30_000, "both exports consumed and stored");
    expect(await count("SELECT count() FROM events WHERE event_id = 'http-retried'")).toBe(1);
    expect(await count("SELECT count() FROM event_conflicts WHERE event_id = 'http-retried'")).toBe(0);
  });

  it("rejects a span too large for a Kafka message on its own, and keeps the rest of the export", async () => {
    const src = new OtelSource({ "service.name": "big-result", "gen_ai.agent.id": "huge-agent" });
    // Over the project broker's message.max.bytes (2 MiB; Kafka's default is 1 MiB).
    src.tool({ tool: "db.dump", callId: "http-huge", time: T + 300, attributes: { "gen_ai.tool.call.result": "r".repeat(2_500_000) } });
    // Over a message of the route's own (900 KiB), under the broker's: taken.
    src.tool({ tool: "db.page", callId: "http-large", time: T + 302, attributes: { "gen_ai.tool.call.result": "p".repeat(1_200_000) } });
    src.tool({ tool: "db.count", callId: "http-beside-huge", time: T + 301 });
    const res = await fetch(url, {
      method: "POST", headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" }, body: new Uint8Array(serialise(await src.take(), "otlp_json")),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ partialSuccess: { rejectedSpans: "1", errorMessage: expect.stringContaining("larger than the broker takes") } });
    expect(await eventually(() => stored("http-beside-huge"), 30_000, "the other span's action")).toMatchObject({ agent_id: "huge-agent" });
    expect(await eventually(() => stored("http-large"), 30_000, "the large span's action")).toMatchObject({ agent_id: "huge-agent" });
    expect(await stored("http-huge")).toBeUndefined();
  });

  it("answers 413 for a gzip body that inflates past the size limit", async () => {
    const res = await fetch(url, {
      method: "POST", headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ message: expect.stringMatching(/^payload_too_large: /) });
  });

  it("dead-letters the spans of an export in which none is usable, as it does beside usable ones", async () => {
    const body = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: "0af7", spanId: "c7ad6b7169203331", name: "bad ids only" }] }] }] };
    const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ partialSuccess: { rejectedSpans: "1", errorMessage: expect.stringContaining("16 bytes") } });
    await eventually(async () => (await count("SELECT count() FROM dead_letters FINAL WHERE position(topic, 'c7ad6b7169203331') > 0")) === 1, 30_000, "the span's dead letter");
  });
});
