/**
 * Dead letters: a message that cannot become an event is produced to the dead-letter
 * topic with its original bytes and the reason in headers, and recorded in ClickHouse
 * so the UI can count and show it. Both must succeed before the source offset is
 * committed, so a crash can only repeat a dead letter (deduplicated by the table's
 * Kafka-coordinate key), never lose one.
 *
 * A dead letter is never allowed to stop its partition. A message just under the broker's
 * message.max.bytes becomes a dead letter over it once the reason headers are added, and the
 * broker refuses it for good; retrying it would pause ingest forever. So every dead letter
 * carries the size and SHA-256 of the original payload, payloads that no event may have
 * (over MAX_EVENT_BYTES) are cut to what the table keeps, and a letter the broker still
 * refuses for its size is produced again with less of its payload, then with none: its
 * reason, source coordinates, size and hash always get through.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createHash } from "node:crypto";
import type { IHeaders, Message, Producer } from "kafkajs";
import { MAX_EVENT_BYTES } from "@/lib/events/schema";
import { refusedForSize } from "@/lib/kafka";
import { insertRows } from "@/lib/store/clickhouse";
import type { EventRow } from "./event-writer";

export interface DeadLetter {
  origin: "kafka" | "http" | "store";
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
}

/**
 * A dead letter about a Kafka message, or about one span of it (`span`: "trace/span…"): a
 * span's letter is named after the topic, "<topic>/<span>", since the dead_letters table keeps
 * one row per (topic, partition, offset), an OTLP export may hold several bad spans, and a
 * redelivered one must not count twice.
 */
export function kafkaLetter(at: { topic: string; partition: number; offset: string }, key: Buffer | null, value: Buffer | null, reason: string, span?: string): DeadLetter {
  return { origin: "kafka", topic: span ? `${at.topic}/${span}` : at.topic, partition: at.partition, offset: at.offset, key, value, reason };
}

/**
 * The dead letter of a row ClickHouse refused (the events insert; ingest/event-writer.ts),
 * named after where the row came from: a native event after its Kafka message; an action an
 * OpenTelemetry export carried after its span (as the intake's span-level letters), since one
 * export's message holds many actions and the table keeps one row per (topic, partition,
 * offset). Named after the events topic, two refused actions of one export were one letter,
 * and could replace an events-topic letter with the same partition and offset.
 */
export function refusedRowLetter(row: Pick<EventRow, "kafka_topic" | "kafka_partition" | "kafka_offset" | "trace_id" | "span_id">, value: Buffer, reason: string, eventsTopic: string): DeadLetter {
  const topic = row.kafka_topic || eventsTopic;
  const at = { topic, partition: row.kafka_partition, offset: row.kafka_offset };
  return { ...kafkaLetter(at, null, value, reason, topic === eventsTopic ? undefined : `${row.trace_id || "?"}/${row.span_id || "?"}`), origin: "store" };
}

/** The table keeps at most this much of a payload; the topic keeps all of it when the broker takes it. */
export const STORED_PAYLOAD_BYTES = 64 * 1024;
/** Keys are agent ids: a longer one is cut (its hash is not needed to find the agent). */
const MAX_KEY_BYTES = 4 * 1024;
/**
 * Letters are produced in requests of at most this many bytes (payload, key and headers): all
 * letters of a request go to the one dead-letter partition, and the broker limits a
 * partition's batch (2 MiB on the project's broker, 1 MiB by Kafka's default).
 */
const REQUEST_BYTES = 768 * 1024;
/** A record's framing and its fixed headers' names and values, beyond the reason and source topic (~250 bytes). */
const RECORD_OVERHEAD_BYTES = 512;

interface Prepared {
  letter: DeadLetter;
  bytes: number;
  sha256: string;
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
    const prepared = letters.map((letter) => ({
      letter,
      bytes: letter.value?.length ?? 0,
      sha256: createHash("sha256").update(letter.value ?? Buffer.alloc(0)).digest("hex"),
    }));
    for (const chunk of chunks(prepared)) {
      try {
        await this.producer.send({ topic: this.dlqTopic, messages: chunk.map((p) => message(p, now, MAX_EVENT_BYTES)) });
      } catch (err) {
        if (!refusedForSize(err)) throw err;
        for (const p of chunk) await this.sendAlone(p, now);
      }
    }
    await insertRows(
      this.client,
      "dead_letters",
      prepared.map(({ letter: l, bytes, sha256 }) => ({
        received_at: now,
        origin: l.origin,
        topic: l.topic,
        partition: l.partition,
        offset: l.offset,
        // A reason can quote a field name with a lone surrogate (zod paths); the engine
        // refuses such a string, and the insert would fail on every retry.
        reason: l.reason.toWellFormed(),
        payload: l.value ? l.value.subarray(0, STORED_PAYLOAD_BYTES).toString("utf8") : "",
        payload_bytes: bytes,
        payload_sha256: sha256,
      })),
      { comment: "ingest:dead_letters" },
    );
  }

  /** A letter the broker refused for its size: again with the table's share of the payload, then with none. */
  private async sendAlone(p: Prepared, now: string): Promise<void> {
    for (const limit of [STORED_PAYLOAD_BYTES, 0]) {
      try {
        await this.producer.send({ topic: this.dlqTopic, messages: [message(p, now, limit)] });
        return;
      } catch (err) {
        if (!refusedForSize(err)) throw err;
      }
    }
    // Not even the headers fit (a broker limit of a few KiB): the table row below still
    // records it, and the partition moves on.
  }
}

function chunks(prepared: Prepared[]): Prepared[][] {
  const out: Prepared[][] = [];
  let current: Prepared[] = [];
  let size = 0;
  for (const p of prepared) {
    // Headers count too: the letters of empty messages, counted as 0 bytes, once filled one
    // request past the broker's limit, and each was then produced on its own (8,000 requests).
    const { letter: l } = p;
    const bytes =
      Math.min(p.bytes, MAX_EVENT_BYTES) + Math.min(l.key?.length ?? 0, MAX_KEY_BYTES) + Buffer.byteLength(l.reason) + Buffer.byteLength(l.topic) + RECORD_OVERHEAD_BYTES;
    if (current.length && size + bytes > REQUEST_BYTES) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(p);
    size += bytes;
  }
  if (current.length) out.push(current);
  return out;
}

function message({ letter: l, bytes, sha256 }: Prepared, now: string, payloadLimit: number): Message {
  const truncated = bytes > payloadLimit;
  const key = l.key && l.key.length > MAX_KEY_BYTES ? l.key.subarray(0, MAX_KEY_BYTES) : l.key;
  return {
    key,
    value: l.value ? (truncated ? l.value.subarray(0, payloadLimit) : l.value) : null,
    headers: {
      "revenant-reason": l.reason.toWellFormed(),
      "revenant-origin": l.origin,
      "revenant-source-topic": l.topic,
      "revenant-source-partition": String(l.partition),
      "revenant-source-offset": l.offset,
      "revenant-failed-at": now,
      "revenant-original-bytes": String(bytes),
      "revenant-original-sha256": sha256,
      ...(truncated ? { "revenant-truncated": "true" } : {}),
    } satisfies IHeaders,
  };
}
