/**
 * When the OpenTelemetry consumer (ingest/otlp-consumer.ts) commits an export's offset: only
 * once ingest has stored its actions and run detection on them (IngestConsumer.submit's
 * `stored`). Until then a crash must redeliver the export; a batch ingest gave up on (it was
 * stopping) stays uncommitted and is delivered again to the next consumer. The ingest side
 * here is a stand-in that holds `stored` until the test releases it; the broker, the consumer
 * group and the span store are real.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import { closeStore, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import type { EventIntake } from "@/ingest/consumer";
import type { DeadLetter } from "@/ingest/dead-letters";
import type { EventRow } from "@/ingest/event-writer";
import { OtlpConsumer, otlpGroupId } from "@/ingest/otlp-consumer";
import { committedOffsetsOf, configureTestStack, eventually, testProducer } from "../helpers/stack";
import { OtelSource, serialise } from "../helpers/otel";

/** Records each hand-over and settles its `stored` only when told to. */
class HeldIntake implements EventIntake {
  readonly handed: { rows: EventRow[]; settle: (stored: boolean) => void }[] = [];

  async submit(rows: EventRow[], _letters: DeadLetter[]): Promise<{ stored: Promise<void> }> {
    let settle!: (stored: boolean) => void;
    const stored = new Promise<void>((resolve, reject) => (settle = (ok) => (ok ? resolve() : reject(new Error("ingest is stopping")))));
    this.handed.push({ rows, settle });
    return { stored };
  }
}

let producer: Producer;

const committedOtlpOffset = () => committedOffsetsOf(otlpGroupId(config()), config().OTLP_KAFKA_TOPIC);

function startConsumer(intake: EventIntake): Promise<OtlpConsumer> {
  const cfg = config();
  const consumer = new OtlpConsumer(cfg, createKafka(cfg, "-test-otlp"), store().writer, intake);
  return consumer.start().then(() => consumer);
}

beforeAll(async () => {
  // One partition: the two exports below are one ordered stream.
  configureTestStack({ KAFKA_TOPIC_PARTITIONS: "1", KAFKA_SESSION_TIMEOUT_MS: "6000" });
  await migrate(store().writer);
  producer = await testProducer();
});
afterAll(async () => {
  await producer?.disconnect();
  await closeStore();
});

describe("OpenTelemetry offsets", () => {
  it("are committed only after ingest stored the actions, and a batch ingest gave up on comes again", async () => {
    const otel = new OtelSource({ "service.name": "commit-tools", "gen_ai.agent.id": "commit-agent" });
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 3; i++) otel.tool({ tool: "search", callId: `commit-${i}`, time: t0 + i });
    await producer.send({ topic: config().OTLP_KAFKA_TOPIC, messages: [{ value: serialise(await otel.take(), "otlp_proto") }] });

    const held = new HeldIntake();
    let consumer = await startConsumer(held);
    await eventually(async () => held.handed.length === 1, 30_000, "the export's actions handed to ingest");
    expect(held.handed[0].rows.map((r) => [r.event_id, r.agent_id, r.kafka_topic, r.kafka_offset])).toEqual(
      [0, 1, 2].map((i) => [`commit-${i}`, "commit-agent", config().OTLP_KAFKA_TOPIC, "0"]),
    );
    // Not stored yet: nothing committed, however long it takes.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await committedOtlpOffset()).toBe(0);

    // Ingest gives up on it (stopping): still not committed; the next consumer gets it again.
    held.handed[0].settle(false);
    await consumer.stop();
    expect(await committedOtlpOffset()).toBe(0);
    const again = new HeldIntake();
    consumer = await startConsumer(again);
    await eventually(async () => again.handed.length === 1, 30_000, "the export delivered again");
    expect(again.handed[0].rows.map((r) => r.event_id)).toEqual(["commit-0", "commit-1", "commit-2"]);
    // Same content as the first time: ingest sees a repeat, not a conflicting copy.
    expect(again.handed[0].rows.map((r) => r.content_hash)).toEqual(held.handed[0].rows.map((r) => r.content_hash));

    // Stored and evaluated: now it is committed.
    again.handed[0].settle(true);
    await eventually(async () => (await committedOtlpOffset()) === 1, 30_000, "the export's offset committed");
    await consumer.stop();
  }, 120_000);
});
