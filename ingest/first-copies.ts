/**
 * First copy wins (docs/EVENTS.md, "First copy wins"): an event_id is stored once, as it
 * first arrived. Before a batch is written, each row is sorted into one of three kinds:
 *
 * - first: no copy of its id is stored and none came earlier in the batch: it is written;
 * - repeat: same content (SHA-256 of the message as received) as the first copy, e.g.
 *   Kafka redelivering a batch after a crash: not written again, so the first copy keeps its
 *   provenance, but handed to detection like before (its evaluation may not have run yet);
 * - conflict: different content: kept aside in event_conflicts with its provenance and raw
 *   payload, never written to events and never seen by detection.
 *
 * "Earlier" is Kafka order within a partition and arrival order across partitions, which is
 * the order of the batch (ingest/batcher.ts). Stored first copies are looked up by key in
 * event_first_copies (lib/store/migrations/070_event_provenance.sql), which the events
 * table's view fills in the same insert that stores the row.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { KafkaMessage } from "kafkajs";
import { contentHash, provenanceKey, SIGNATURE_HEADER, SUBMITTED_BY_HEADER, verifiedSubmitter } from "@/lib/events/provenance";
import { insertRows, queryRows } from "@/lib/store/clickhouse";
import { logger } from "@/lib/log";
import { tsvField } from "@/lib/store/tsv";
import type { EventRow } from "./event-writer";

/** The Kafka message a row was decoded from: its bytes are hashed and, for a conflict, kept. */
const MESSAGE = Symbol("message");
type Received = EventRow & { [MESSAGE]?: KafkaMessage };

/** Records where a decoded row came from (called by the consumer for each message). */
export function receivedFrom(row: EventRow, topic: string, message: KafkaMessage): void {
  row.kafka_topic = topic;
  (row as Received)[MESSAGE] = message;
}

/**
 * Lets go of the rows' Kafka messages once they are hashed and sorted (nothing reads them after
 * sortCopies). A message's bytes are a slice of its whole fetch response: held by a row until
 * detection had run on it, the messages of every flush in flight kept their fetches (hundreds
 * of megabytes while ingest catches up under an incident) alive through detection, and every
 * full garbage collection marked them again (bench:scale, heap snapshots of both phases).
 */
export function forgetMessages(rows: EventRow[]): void {
  // Set to undefined rather than deleted: a deleted property turns each row into a slower dictionary object.
  for (const row of rows as Received[]) if (row[MESSAGE]) row[MESSAGE] = undefined;
}

export interface ConflictRow {
  event_id: string;
  content_hash: string;
  first_hash: string;
  kafka_topic: string;
  kafka_partition: number;
  kafka_offset: string;
  submitted_by: string;
  payload: string;
}

export interface Sorted {
  /** Rows to write to events. */
  first: EventRow[];
  /** Rows detection may see: the first copies and repeats of copies stored earlier. */
  forDetection: EventRow[];
  conflicts: ConflictRow[];
  /**
   * The messages, as text, of the rows a later sort of this batch may need after the messages
   * are gone (ingest/event-writer.ts, storeSorted): the conflicts, and the rows sorted against
   * a first copy not stored yet, which ClickHouse may still refuse.
   */
  texts: Map<EventRow, string>;
}

const header = (m: KafkaMessage | undefined, name: string): string => {
  const v = m?.headers?.[name];
  return v === undefined ? "" : String(Array.isArray(v) ? v[0] : v);
};

/**
 * Hashes each row's message and stamps the verified submitter, before sortCopies and before the
 * rows are serialised (the hash is a column). Rows that came without a message (written
 * directly, e.g. by tests) are hashed by their decoded content.
 */
export async function stamp(client: ClickHouseClient, rows: EventRow[]): Promise<void> {
  let key: Buffer | null = null;
  for (const row of rows as Received[]) {
    // Stamped once: a flush that is retried sorts the same rows again. So the hash, which
    // marks a row as stamped, is set last: a row whose key read failed is stamped again on
    // the retry, not stored without the submitter it was signed with.
    if (row.content_hash) continue;
    const m = row[MESSAGE];
    const hash = contentHash(m?.value ?? JSON.stringify(row));
    const claimed = header(m, SUBMITTED_BY_HEADER);
    if (claimed) {
      key ??= await provenanceKey(client);
      row.submitted_by = verifiedSubmitter(key, claimed, header(m, SIGNATURE_HEADER), hash);
      if (!row.submitted_by) {
        logger().warn({ event_id: row.event_id, partition: row.kafka_partition, offset: row.kafka_offset, claimed }, "unsigned submitter header ignored");
      }
    }
    row.content_hash = hash;
  }
}

/**
 * Content hash of the stored first copy of each of these ids ('' for copies older than hashes).
 * The ids travel as one TabSeparated string rather than an Array(String) parameter: the
 * engine parses it faster (measured: ~20 ms less per 20,000 ids), and the IN set is still
 * answered by key lookups in the EmbeddedRocksDB table, not a scan.
 */
async function storedHashes(client: ClickHouseClient, ids: string[]): Promise<Map<string, string>> {
  // A flush of dead letters only: an empty TSV string is not a table ClickHouse can read.
  if (ids.length === 0) return new Map();
  let list = "";
  for (const id of ids) list += tsvField(id) + "\n";
  const rows = await queryRows<{ event_id: string; content_hash: string }>(
    client,
    "ingest:first-copies",
    "SELECT event_id, content_hash FROM event_first_copies WHERE event_id IN (SELECT id FROM format(TSV, 'id String', {ids:String}))",
    { ids: list },
  );
  return new Map(rows.map((r) => [r.event_id, r.content_hash]));
}

/**
 * Sorts a batch's rows, stamped (stamp above). `unstored` holds the first copies (id → hash) of earlier batches that
 * were sorted but whose insert has not finished yet (ingest/batcher.ts overlaps the two): they
 * count as stored, since the lookup cannot see them yet. `texts` gives the messages of rows
 * whose own are gone (a batch sorted again).
 */
export async function sortCopies(
  client: ClickHouseClient,
  rows: EventRow[],
  unstored: readonly ReadonlyMap<string, string>[] = [],
  texts: ReadonlyMap<EventRow, string> = new Map(),
): Promise<Sorted> {
  const firstInBatch = new Map<string, EventRow>();
  for (const r of rows) if (!firstInBatch.has(r.event_id)) firstInBatch.set(r.event_id, r);
  const stored = await storedHashes(client, [...firstInBatch.keys()]);
  const notStoredYet = new Set<string>();
  for (const earlier of unstored) {
    for (const id of firstInBatch.keys()) {
      const hash = earlier.get(id);
      if (hash !== undefined && !stored.has(id)) {
        stored.set(id, hash);
        notStoredYet.add(id);
      }
    }
  }
  const textOf = (r: Received) => texts.get(r) ?? (r[MESSAGE]?.value ? r[MESSAGE].value.toString("utf8") : JSON.stringify(r));
  const out: Sorted = { first: [], forDetection: [], conflicts: [], texts: new Map() };
  for (const r of rows as Received[]) {
    const storedHash = stored.get(r.event_id);
    const winner = firstInBatch.get(r.event_id)!;
    const firstHash = storedHash ?? winner.content_hash!;
    if (notStoredYet.has(r.event_id)) out.texts.set(r, textOf(r));
    if (storedHash === undefined && winner === r) {
      // Stored first by this batch: no earlier detection pass can have seen it.
      r.stored_before = false;
      out.first.push(r);
      out.forDetection.push(r);
    } else if (r.content_hash === firstHash) {
      // A repeat within the batch adds nothing; one of a copy stored earlier may still need detection.
      if (storedHash !== undefined && winner === r) {
        r.stored_before = true;
        out.forDetection.push(r);
      }
    } else {
      const payload = out.texts.get(r) ?? textOf(r);
      out.texts.set(r, payload);
      out.conflicts.push({
        event_id: r.event_id,
        content_hash: r.content_hash!,
        first_hash: firstHash,
        kafka_topic: r.kafka_topic ?? "",
        kafka_partition: r.kafka_partition,
        kafka_offset: r.kafka_offset,
        submitted_by: r.submitted_by ?? "",
        payload,
      });
    }
  }
  return out;
}

/** Stores conflicting copies; a redelivered one replaces its own earlier row (same Kafka coordinates). */
export async function keepConflicts(client: ClickHouseClient, conflicts: ConflictRow[]): Promise<void> {
  if (conflicts.length === 0) return;
  await insertRows(client, "event_conflicts", conflicts, { comment: "ingest:conflicts" });
  logger().warn({ count: conflicts.length, first: conflicts[0].event_id }, "conflicting copies of stored events kept aside");
}
