/**
 * The OTLP consumer's worker thread (ingest/otlp-thread.ts) on the real broker: a batch is
 * mapped and its actions produced to the events topic; a thread that dies fails the batch it
 * was working on (the consumer then repeats it) instead of leaving it waiting, and the next
 * batch runs on a new thread.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Worker } from "node:worker_threads";
import { create } from "@bufbuild/protobuf";
import { config } from "@/lib/config";
import { createKafka, ensureTopics } from "@/lib/kafka";
import { encodeOtlp } from "@/lib/otlp/codec";
import { ExportTraceServiceRequestSchema } from "@/lib/otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb";
import { OtlpThread } from "@/ingest/otlp-thread";
import { configureTestStack } from "../helpers/stack";

const str = (key: string, value: string) => ({ key, value: { value: { case: "stringValue" as const, value } } });

/** One export of `count` tool calls naming their agent on the resource. */
function exportOf(tag: string, count: number): Buffer {
  const spans = Array.from({ length: count }, (_, i) => {
    const id = Buffer.alloc(24, 1);
    id.writeUInt32BE(i + 1, 12);
    id.writeUInt32BE(i + 1, 20);
    return {
      traceId: id.subarray(0, 16), spanId: id.subarray(16, 24), name: "execute_tool search", kind: 1,
      startTimeUnixNano: BigInt(Date.now() - 60_000 + i) * 1_000_000n,
      attributes: [str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.call.id", `${tag}-${i}`)],
    };
  });
  return Buffer.from(encodeOtlp(create(ExportTraceServiceRequestSchema, {
    resourceSpans: [{ resource: { attributes: [str("service.name", "thread-test"), str("gen_ai.agent.id", "thread-agent")] }, scopeSpans: [{ spans }] }],
  }), "otlp_proto"));
}

let thread: OtlpThread;

beforeAll(async () => {
  configureTestStack();
  await ensureTopics(createKafka(config(), "-test"), config());
  thread = new OtlpThread(config());
  await thread.start();
});
afterAll(async () => {
  await thread?.stop();
});

async function eventIdsOnTopic(expected: number): Promise<string[]> {
  const consumer = createKafka(config(), "-test-read").consumer({ groupId: `${config().KAFKA_GROUP_ID}-read-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: config().KAFKA_TOPIC, fromBeginning: true });
  const ids: string[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({ eachMessage: async ({ message }) => {
      ids.push(JSON.parse(message.value!.toString()).event_id);
      if (ids.length >= expected) resolve();
    } });
  });
  await consumer.disconnect();
  return ids;
}

describe("OTLP worker thread", () => {
  it("maps a batch, produces its actions, and survives its thread dying mid-batch", async () => {
    // A batch large enough (20,000 spans) to still be mapping when its thread is ended.
    const big = Array.from({ length: 20 }, (_, i) => ({ offset: String(i), encoding: "otlp_proto" as const, value: exportOf(`lost-${i}`, 1000) }));
    const lost = thread.map("otlp.test", 0, big);
    await (thread as unknown as { worker: Worker }).worker.terminate();
    await expect(lost.mapped).rejects.toThrow(/OTLP thread exited/);
    await expect(lost.produced).rejects.toThrow(/OTLP thread exited/);

    // The next batch starts a new thread, which maps it and produces every action.
    const again = thread.map("otlp.test", 1, [{ offset: "7", encoding: "otlp_proto", value: exportOf("kept", 300) }, { offset: "8", encoding: "otlp_proto", value: Buffer.from("not protobuf") }]);
    const mapped = await again.mapped;
    expect(mapped.spanCount).toBe(300);
    expect(mapped.rejected).toEqual([{ index: 1, reason: expect.stringContaining("invalid OTLP protobuf") }]);
    expect(new TextDecoder().decode(mapped.exportRows)).toMatch(/^otlp\.test\/1\/7\totlp_proto\t/);
    expect(await again.produced).toBe(300);
    const ids = await eventIdsOnTopic(300);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 300 }, (_, i) => `kept-${i}`)));
  });
});
