/**
 * An OpenTelemetry export the span store keeps refusing cannot stall the intake
 * (ingest/otlp-consumer.ts): after a few attempts its exports go to the dead-letter topic with
 * the reason and their payload, the actions that named their agent are stored all the same, the
 * offsets move on, and the exports after it are stored as usual. Real broker, consumer group,
 * worker and engine; the refusal is a table the store cannot find (not a lost connection, which
 * is waited out instead).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { config } from "@/lib/config";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { otlpJob } from "@/ingest/jobs";
import { startWorker, type Worker } from "@/ingest/worker";
import { otlpGroupId } from "@/ingest/otlp-consumer";
import { committedOffsetsOf, configureTestStack, count, eventually, testProducer } from "../helpers/stack";
import { OtelSource, serialise } from "../helpers/otel";

let worker: Worker;
let producer: Producer;

beforeAll(async () => {
  configureTestStack({ KAFKA_TOPIC_PARTITIONS: "1" });
  worker = await startWorker({ jobs: [otlpJob()] });
  producer = await testProducer();
});
afterAll(async () => {
  await producer?.disconnect();
  await worker?.stop();
  await closeStore();
});

async function exportOf(callIds: string[], time: number): Promise<Buffer> {
  const otel = new OtelSource({ "service.name": "give-up-tools", "gen_ai.agent.id": "give-up-agent" });
  callIds.forEach((callId, i) => otel.tool({ tool: "search", callId, time: time + i }));
  return Buffer.from(serialise(await otel.take(), "otlp_proto"));
}

const storedAction = (id: string) => count("SELECT count() FROM events FINAL WHERE event_id = {id:String}", { id });

describe("an export the span store refuses", () => {
  it("is given up to dead letters with its reason while its actions are stored, and the intake goes on", async () => {
    const topic = config().OTLP_KAFKA_TOPIC;
    const t0 = Date.now() - 60_000;
    await store().writer.command({ query: "RENAME TABLE otlp_exports TO otlp_exports_away" });
    try {
      const refused = await exportOf(["give-up-1", "give-up-2"], t0);
      // In the same batch, a message that does not decode: dead-lettered for that, not given up again.
      await producer.send({ topic, messages: [
        { value: refused, headers: { "content-type": "application/x-protobuf" } },
        { value: Buffer.from([0x0a, 0xff, 0xff]), headers: { "content-type": "application/x-protobuf" } },
      ] });
      const letter = await eventually(
        async () =>
          (await queryRows<{ reason: string; payload_bytes: string }>(store().reader, "test",
            "SELECT reason, payload_bytes FROM dead_letters FINAL WHERE topic = {topic:String} AND offset = 0", { topic }))[0],
        60_000,
        "the refused export's dead letter",
      );
      expect(letter.reason).toMatch(/^otlp: the export's spans could not be stored: .*otlp_exports.*\(given up after \d+ attempts\)$/);
      // The whole export is kept with it, to be produced again once the store takes it.
      expect(Number(letter.payload_bytes)).toBe(refused.length);
      // Its tool spans named their agent: their actions need nothing from the span store.
      expect(await storedAction("give-up-1")).toBe(1);
      expect(await storedAction("give-up-2")).toBe(1);
      const undecodable = await queryRows<{ reason: string }>(store().reader, "test",
        "SELECT reason FROM dead_letters FINAL WHERE topic = {topic:String} AND offset = 1", { topic });
      expect(undecodable.map((l) => l.reason)).toEqual([expect.stringMatching(/^otlp_proto: /)]);
      await eventually(async () => (await committedOffsetsOf(otlpGroupId(config()), topic)) === 2, 30_000, "the offset past the refused export");
    } finally {
      await store().writer.command({ query: "RENAME TABLE otlp_exports_away TO otlp_exports" });
    }

    // The next export is stored as usual, its original included.
    await producer.send({ topic, messages: [{ value: await exportOf(["give-up-3"], t0 + 10), headers: { "content-type": "application/x-protobuf" } }] });
    await eventually(async () => (await storedAction("give-up-3")) === 1, 30_000, "the next export's action");
    expect(await count("SELECT count() FROM otlp_exports FINAL WHERE export_id = {id:String}", { id: `${topic}/0/2` })).toBe(1);
  });
});
