/**
 * Turns the messages of one fetched partition batch into event rows, or dead letters with
 * the reason (lib/events/schema.ts decides what is valid).
 */
import type { Batch } from "kafkajs";
import { decodeMessage } from "@/lib/events/schema";
import type { DeadLetter } from "./dead-letters";
import type { EventRow } from "./event-writer";
import { receivedFrom } from "./first-copies";

/** Messages decoded between two turns of the event loop (about 1–2 ms of work). */
const DECODE_SLICE = 500;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function decodeBatch(batch: Batch): Promise<{ rows: EventRow[]; letters: DeadLetter[] }> {
  const now = Date.now();
  const rows: EventRow[] = [];
  const letters: DeadLetter[] = [];
  for (let i = 0; i < batch.messages.length; i++) {
    // Decoding a fetch of 12k messages takes tens of milliseconds: done in slices, so that
    // whatever shares the worker's event loop (kafkajs heartbeats, the jobs' timers; the web
    // app's requests where the worker runs on the main thread, as tests and benchmarks run it)
    // waits for one slice at most, not for the whole fetch.
    if (i > 0 && i % DECODE_SLICE === 0) await yieldToEventLoop();
    const m = batch.messages[i];
    let decoded: ReturnType<typeof decodeMessage>;
    try {
      decoded = decodeMessage(m.value, now);
    } catch (err) {
      // A decoder bug must not stall the partition: the message is dead-lettered with it.
      decoded = { ok: false, reason: `decoder error: ${(err as Error).message}` };
    }
    if (decoded.ok) {
      // The decoded object is ours alone: adding the coordinates in place saves a copy per event.
      const row = decoded.event as EventRow;
      row.kafka_partition = batch.partition;
      row.kafka_offset = m.offset;
      receivedFrom(row, batch.topic, m);
      rows.push(row);
    } else {
      letters.push({ origin: "kafka", topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, value: m.value, reason: decoded.reason });
    }
  }
  return { rows, letters };
}
