/**
 * Turns the messages of one fetched partition batch into event rows, or dead letters with
 * the reason (lib/events/schema.ts decides what is valid). The OpenTelemetry intake's
 * actions are validated here too, by the same rules (decodeActions).
 */
import type { Batch } from "kafkajs";
import { decodeMessage } from "@/lib/events/decode";
import { spanOfAction, validateActions, type ActionRow, type ValidatedActions } from "@/lib/otlp/actions";
import type { ReadyAction } from "@/lib/otlp/batch";
import { kafkaLetter, type DeadLetter } from "./dead-letters";
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
      letters.push(kafkaLetter({ topic: batch.topic, partition: batch.partition, offset: m.offset }, m.key, m.value, decoded.reason));
    }
  }
  return { rows, letters };
}

/** Where a batch of OpenTelemetry actions came from: the OTLP topic's partition and its batch. */
export interface ActionSource {
  topic: string;
  partition: number;
  /** The offset given to actions that carry none (spans that waited for their agent). */
  offset: string;
}

/**
 * Validates the actions the OpenTelemetry intake mapped (lib/otlp/actions.ts) into rows for
 * the same writer and detection as every event, given the Kafka coordinates of the messages
 * they came from (the export message; the completing batch for a span that waited for its
 * agent), and dead letters for the invalid ones. In slices, like decodeBatch.
 */
export async function decodeActions(actions: ReadyAction[], source: ActionSource): Promise<{ rows: EventRow[]; letters: DeadLetter[] }> {
  const rows: EventRow[] = [];
  const letters: DeadLetter[] = [];
  for (let i = 0; i < actions.length; i += DECODE_SLICE) {
    if (i > 0) await yieldToEventLoop();
    const { rows: valid, invalid } = validateActions(actions.slice(i, i + DECODE_SLICE));
    for (const r of valid) rows.push(placed(r, source));
    for (const l of actionLetters(invalid, source)) letters.push(l);
  }
  return { rows, letters };
}

/** Dead letters for invalid actions, named after their span like the intake's other span-level letters. */
function actionLetters(invalid: ValidatedActions["invalid"], source: ActionSource): DeadLetter[] {
  return invalid.map(({ action, reason }) =>
    kafkaLetter({ ...source, offset: action.offset ?? source.offset }, null, Buffer.from(action.json), `otlp: ${reason}`, spanOfAction(action.json)),
  );
}

function placed(row: ActionRow, source: ActionSource): EventRow {
  const r = row as ActionRow & EventRow;
  r.kafka_topic = source.topic;
  r.kafka_partition = source.partition;
  r.kafka_offset = row.kafka_offset ?? source.offset;
  return r;
}
