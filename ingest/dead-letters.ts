/**
 * Dead letters: a message that cannot become an event is produced to the dead-letter
 * topic with its original bytes and the reason in headers, and recorded in ClickHouse
 * so the UI can count and show it. Both must succeed before the source offset is
 * committed, so a crash can only repeat a dead letter (deduplicated by the table's
 * Kafka-coordinate key), never lose one.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Producer, IHeaders } from "kafkajs";

export interface DeadLetter {
  origin: "kafka" | "http" | "store";
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
}

/** The table keeps at most this much of a payload; the topic keeps all of it. */
const STORED_PAYLOAD_BYTES = 64 * 1024;

export class DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    private readonly client: ClickHouseClient,
    private readonly dlqTopic: string,
  ) {}

  async send(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const now = new Date().toISOString();
    await this.producer.send({
      topic: this.dlqTopic,
      messages: letters.map((l) => ({
        key: l.key,
        value: l.value,
        headers: {
          "revenant-reason": l.reason,
          "revenant-origin": l.origin,
          "revenant-source-topic": l.topic,
          "revenant-source-partition": String(l.partition),
          "revenant-source-offset": l.offset,
          "revenant-failed-at": now,
        } satisfies IHeaders,
      })),
    });
    await this.client.insert({
      table: "dead_letters",
      format: "JSONEachRow",
      values: letters.map((l) => ({
        received_at: now,
        origin: l.origin,
        topic: l.topic,
        partition: l.partition,
        offset: l.offset,
        reason: l.reason,
        payload: l.value ? l.value.subarray(0, STORED_PAYLOAD_BYTES).toString("utf8") : "",
      })),
      clickhouse_settings: { log_comment: "ingest:dead_letters" },
    });
  }
}
