/**
 * Dead letters: a message that cannot become an event is produced to the dead-letter
 * topic with its original bytes (only their head when the letter would be too large for
 * the topic) and the reason in headers, and recorded in ClickHouse
 * so the UI can count and show it. Both must succeed before the source offset is
 * committed, so a crash can only repeat a dead letter (deduplicated by the table's
 * Kafka-coordinate key), never lose one.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Producer, IHeaders, Message } from "kafkajs";

export interface DeadLetter {
  origin: "kafka" | "http" | "store";
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
}

/** The table keeps at most this much of a payload; the topic keeps all of it when it can. */
const STORED_PAYLOAD_BYTES = 64 * 1024;

/**
 * The broker refused the request for its size (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE).
 * A dead letter is its message plus headers, so a message near the broker's limit that
 * failed here makes a letter over it, and several letters sent together can exceed it too:
 * retrying the same request would stall ingestion for ever.
 */
function isTooLarge(err: unknown): boolean {
  const type = (err as { type?: string }).type;
  return type === "MESSAGE_TOO_LARGE" || type === "RECORD_LIST_TOO_LARGE";
}

export class DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    private readonly client: ClickHouseClient,
    private readonly dlqTopic: string,
  ) {}

  async send(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const now = new Date().toISOString();
    await this.produce(
      letters.map((l) => ({
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
    );
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

  /**
   * All letters in one request; if the broker refuses it for its size, one letter per
   * request; a letter still too large alone keeps only the head of its bytes, with the
   * original size in a header (the reason and Kafka coordinates identify the source).
   */
  private async produce(messages: Message[]): Promise<void> {
    try {
      await this.producer.send({ topic: this.dlqTopic, messages });
    } catch (err) {
      if (!isTooLarge(err)) throw err;
      if (messages.length > 1) {
        for (const m of messages) await this.produce([m]);
        return;
      }
      const [m] = messages;
      const value = m.value as Buffer | null;
      await this.producer.send({
        topic: this.dlqTopic,
        messages: [{ ...m, value: value?.subarray(0, STORED_PAYLOAD_BYTES) ?? null, headers: { ...m.headers, "revenant-truncated": "true", "revenant-original-bytes": String(value?.length ?? 0) } }],
      });
    }
  }
}
