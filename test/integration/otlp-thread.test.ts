/**
 * The OTLP consumer's worker thread (ingest/otlp-thread.ts): a batch is decoded and mapped there,
 * and its actions validated by ingest/decode-batch.ts; a thread that dies fails the batch it was
 * working on (the consumer then repeats it) instead of leaving it waiting, and the next batch
 * runs on a new thread.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Worker } from "node:worker_threads";
import { create } from "@bufbuild/protobuf";
import { config } from "@/lib/config";
import { encodeOtlp } from "@/lib/otlp/codec";
import { ExportTraceServiceRequestSchema } from "@/lib/otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb";
import { decodeActions } from "@/ingest/decode-batch";
import { OtlpThread } from "@/ingest/otlp-thread";
import { configureTestStack } from "../helpers/stack";

const str = (key: string, value: string) => ({ key, value: { value: { case: "stringValue" as const, value } } });

/** One export of `count` tool calls naming their agent on the resource. */
function exportOf(tag: string, count: number, session?: string): Buffer {
  const spans = Array.from({ length: count }, (_, i) => {
    const id = Buffer.alloc(24, 1);
    id.writeUInt32BE(i + 1, 12);
    id.writeUInt32BE(i + 1, 20);
    return {
      traceId: id.subarray(0, 16), spanId: id.subarray(16, 24), name: "execute_tool search", kind: 1,
      startTimeUnixNano: BigInt(Date.now() - 60_000 + i) * 1_000_000n,
      attributes: [str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.call.id", `${tag}-${i}`), ...(session ? [str("gen_ai.conversation.id", session)] : [])],
    };
  });
  return Buffer.from(encodeOtlp(create(ExportTraceServiceRequestSchema, {
    resourceSpans: [{ resource: { attributes: [str("service.name", "thread-test"), str("gen_ai.agent.id", "thread-agent")] }, scopeSpans: [{ spans }] }],
  }), "otlp_proto"));
}

let thread: OtlpThread;

beforeAll(async () => {
  configureTestStack();
  thread = new OtlpThread(config());
  await thread.start();
});
afterAll(async () => {
  await thread?.stop();
});

describe("OTLP worker thread", () => {
  it("maps a batch whose actions then validate, and survives its thread dying mid-batch", async () => {
    // A batch large enough (20,000 spans) to still be mapping when its thread is ended.
    const big = Array.from({ length: 20 }, (_, i) => ({ offset: String(i), encoding: "otlp_proto" as const, value: exportOf(`lost-${i}`, 1000) }));
    const lost = thread.map("otlp.test", 0, big);
    await (thread as unknown as { worker: Worker }).worker.terminate();
    await expect(lost).rejects.toThrow(/OTLP thread exited/);

    // The next batch starts a new thread, which maps it; validated, the actions whose session id
    // is longer than schema v1 allows (256) become dead letters, not rows.
    const tooLong = "s".repeat(300);
    const again = thread.map("otlp.test", 1, [
      { offset: "7", encoding: "otlp_proto", value: exportOf("kept", 300) },
      { offset: "8", encoding: "otlp_proto", value: Buffer.from("not protobuf") },
      { offset: "9", encoding: "otlp_proto", value: exportOf("invalid", 2, tooLong) },
    ]);
    const mapped = await again;
    expect(mapped.spanCount).toBe(302);
    expect(mapped.rejected).toEqual([{ index: 1, reason: expect.stringContaining("invalid OTLP protobuf") }]);
    expect(new TextDecoder().decode(mapped.exportRows)).toMatch(/^otlp\.test\/1\/7\totlp_proto\t/);
    const source = { topic: "otlp.test", partition: 1, offset: "9" };
    const { rows, letters } = await decodeActions(mapped.ready, source);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(Array.from({ length: 300 }, (_, i) => `kept-${i}`)));
    // Each row keeps where it came from: its export message, for the event's provenance.
    expect(rows.every((r) => r.kafka_topic === "otlp.test" && r.kafka_partition === 1 && r.kafka_offset === "7" && r.agent_id === "thread-agent")).toBe(true);
    expect(rows[0].content_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(letters.map((l) => [l.offset, l.reason])).toEqual([
      ["9", expect.stringMatching(/^otlp: schema: session_id: /)],
      ["9", expect.stringMatching(/^otlp: schema: session_id: /)],
    ]);
  });
});
