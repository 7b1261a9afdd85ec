/**
 * The dead letter of a row the events insert refused (ingest/dead-letters.ts, refusedRowLetter):
 * named after the Kafka message of a native event, after its span for an action an
 * OpenTelemetry export carried, so that two refused actions of one export are two letters and
 * never stand in for an events-topic letter with the same partition and offset.
 */
import { describe, expect, it } from "vitest";
import { refusedRowLetter } from "@/ingest/dead-letters";

const body = Buffer.from("{}");

describe("refused rows' dead letters", () => {
  it("name a native event's letter after its message on the events topic", () => {
    const letter = refusedRowLetter({ kafka_topic: "revenant.events", kafka_partition: 2, kafka_offset: "41", trace_id: "", span_id: "" }, body, "refused", "revenant.events");
    expect(letter).toMatchObject({ origin: "store", topic: "revenant.events", partition: 2, offset: "41", reason: "refused" });
    // Rows written without a topic (another intake of the worker) count as the events topic's.
    expect(refusedRowLetter({ kafka_partition: 2, kafka_offset: "41", trace_id: "", span_id: "" }, body, "refused", "revenant.events").topic).toBe("revenant.events");
  });

  it("name each action of an OpenTelemetry export after its span", () => {
    const at = { kafka_topic: "revenant.otlp", kafka_partition: 2, kafka_offset: "41" };
    const first = refusedRowLetter({ ...at, trace_id: "t1", span_id: "s1" }, body, "refused", "revenant.events");
    const second = refusedRowLetter({ ...at, trace_id: "t1", span_id: "s2" }, body, "refused", "revenant.events");
    expect(first).toMatchObject({ origin: "store", topic: "revenant.otlp/t1/s1", partition: 2, offset: "41" });
    expect(second.topic).toBe("revenant.otlp/t1/s2");
  });
});
