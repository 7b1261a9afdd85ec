/**
 * Writes decoded events to ClickHouse, defensively: valid events are stored whatever months
 * they span, bad input is dead-lettered and never silently dropped (docs/SEMANTICS.md,
 * "Event time bounds").
 *
 * - Connectivity failures (engine down, server unreachable or refusing work) are retried with
 *   capped exponential backoff for as long as it takes; the caller keeps heartbeating meanwhile.
 * - A batch that ClickHouse rejects for its content is split in halves until the bad row
 *   is isolated, so one bad row never sinks its neighbours; that row is handed back to be
 *   dead-lettered with ClickHouse's reason.
 * - Any other error (too many parts, memory, timeouts, codes we do not know) is retried a
 *   bounded number of times, then handled like a content error: split, and the rows that
 *   still fail on their own are dead-lettered with the error. Nothing but connectivity can
 *   hold a batch (and so its partition's offsets) for ever.
 * - A batch is sent in groups of at most MAX_MONTHS_PER_INSERT months, the events table's
 *   partitions: ClickHouse refuses an insert that touches more (code 252), and a batch of
 *   valid events over ten years of history must still be stored.
 * - Each insert carries an insert_deduplication_token derived from the Kafka coordinates
 *   it holds, so a retried insert of the same rows is dropped by the table
 *   (non_replicated_deduplication_window); ReplacingMergeTree on event_id catches the rest.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createHash } from "node:crypto";
import type { StoredEvent } from "@/lib/events/schema";
import { logger } from "@/lib/log";
import { insertBytes } from "@/lib/store/clickhouse";
import { TsvBytes, tsvField, quotedString } from "@/lib/store/tsv";
import { forgetMessages, keepConflicts, sortCopies, stamp, type Sorted } from "./first-copies";

export interface EventRow extends StoredEvent {
  kafka_partition: number;
  kafka_offset: string;
  /** Provenance and content hash, set by ingest/first-copies.ts before the row is written. */
  kafka_topic?: string;
  content_hash?: string;
  submitted_by?: string;
  /** Whether a copy of this event_id was stored before this batch (detection's hint, lib/detection/engine.ts). */
  stored_before?: boolean;
}

/**
 * One insert of the events table, its body already serialised: rows of at most
 * MAX_MONTHS_PER_INSERT months, the columns they use, and their TabSeparated bytes.
 */
export interface EventsInsert {
  rows: EventRow[];
  columns: Column[];
  body: Uint8Array;
}

/** A batch sorted into first copies, repeats and conflicts, its inserts ready to send. */
export interface SortedBatch extends Sorted {
  /** Its first copies (id → hash), known to the batches sorted after it until they are stored. */
  firstHashes: Map<string, string>;
  inserts: EventsInsert[];
  /** Every row of the batch, stamped: sorted again if what it was sorted against changed (storeSorted). */
  rows: EventRow[];
  /** EventWriter.corrections when its sort began. */
  correctionsAtSort: number;
  /** The rows ClickHouse refused so far, with the reason: the caller dead-letters them. */
  refused: RejectedRow[];
  /** Rows just refused whose next copies are not sorted yet (storeSorted, yieldToNextCopies). */
  justRefused: RejectedRow[];
}

export interface RejectedRow {
  row: EventRow;
  reason: string;
}

const errorCode = (err: unknown) => (err as { code?: string | number }).code;

/** ClickHouse error codes that mean "this data is wrong", as opposed to "try again later". */
function isDataError(err: unknown): boolean {
  const code = Number(errorCode(err));
  // 6 CANNOT_PARSE_TEXT, 27 CANNOT_PARSE_INPUT_ASSERTION_FAILED, 53 TYPE_MISMATCH, 41/38 date parse,
  // 117 INCORRECT_DATA, 26 CANNOT_PARSE_QUOTED_STRING, 69 ARGUMENT_OUT_OF_BOUND, 70 CANNOT_CONVERT_TYPE
  return [6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131].includes(code);
}

/**
 * The store cannot be reached or refuses all work for now: worth waiting for whatever the
 * rows hold. Anything else may be caused by the rows and must not be retried for ever.
 */
export function isConnectivityFailure(err: unknown): boolean {
  const e = err as { code?: string | number; message?: string };
  if (e.code !== undefined && e.code !== null && e.code !== "" && !Number.isNaN(Number(e.code))) {
    // A ClickHouse error: its code decides. (Its message may quote the row, which the
    // telemetry producer wrote, so the message is never matched against.)
    // 164 READONLY, 202 TOO_MANY_SIMULTANEOUS_QUERIES, 209 SOCKET_TIMEOUT, 210 NETWORK_ERROR,
    // 242 TABLE_IS_READ_ONLY, 999 KEEPER_EXCEPTION. Not 252 TOO_MANY_PARTS: a batch over
    // many months raises it on a healthy server, so it gets bounded retries like the rest.
    return [164, 202, 209, 210, 242, 999].includes(Number(e.code));
  }
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|Timeout|closed|Cannot lock file|Another server instance/i.test(e.message ?? String(err));
}

/** Attempts of a whole group before an error that is neither connectivity nor data splits it. */
const BOUNDED_ATTEMPTS = 5;
/** Attempts of each half once a group has been split: the split isolates rows, it does not wait. */
const SPLIT_ATTEMPTS = 2;

/**
 * ClickHouse's default max_partitions_per_insert_block: one insert may create parts in at
 * most this many partitions (months of events). A server configured lower still gets the
 * batch stored: code 252 splits it further (bounded retries, then halves).
 */
export const MAX_MONTHS_PER_INSERT = 100;

/**
 * The batch as groups of rows spanning at most maxMonths months each (the events table is
 * PARTITION BY toYYYYMM(time)). A batch within maxMonths (nearly every batch) is one group
 * and keeps its order. Times are canonical ISO-8601 UTC, so the first 7 characters are the month.
 */
export function groupByMonths(rows: EventRow[], maxMonths = MAX_MONTHS_PER_INSERT): EventRow[][] {
  const months = new Set<string>();
  for (const r of rows) months.add(r.time.slice(0, 7));
  if (months.size <= maxMonths) return [rows];
  const byMonth = new Map<string, EventRow[]>();
  for (const r of rows) {
    const m = r.time.slice(0, 7);
    const list = byMonth.get(m);
    if (list) list.push(r);
    else byMonth.set(m, [r]);
  }
  const keys = [...byMonth.keys()].sort();
  const groups: EventRow[][] = [];
  for (let i = 0; i < keys.length; i += maxMonths) groups.push(keys.slice(i, i + maxMonths).flatMap((k) => byMonth.get(k)!));
  return groups;
}

/** Every column the writer fills, in the order of the TabSeparated rows it sends. */
const COLUMNS = [
  "event_id", "type", "time", "agent_id", "pipeline_id", "session_id", "credential_id", "layer", "source", "action",
  "resource", "decision", "sensitivity", "trace_id", "span_id", "rev_scope", "rev_subject", "rev_reason", "rev_cascade",
  "rev_initiated_by", "cred_id", "cred_kind", "cred_parent_id", "cred_expires_at", "attributes", "kafka_partition", "kafka_offset",
  "kafka_topic", "content_hash", "submitted_by",
] as const satisfies readonly (keyof EventRow)[];

type Column = (typeof COLUMNS)[number];

/** A column's value that the table's DEFAULT reproduces, so the column need not be sent. */
function isDefault(col: Column, v: unknown): boolean {
  if (col === "attributes") return Object.keys(v as object).length === 0;
  if (col === "rev_cascade") return v === true;
  return v === "" || v === null || v === undefined;
}

/**
 * The columns at least one row of the batch sets. Events carry few of their optional
 * fields, and every column left out is one ClickHouse does not parse for every row
 * (measured: 50k typical actions, 27 columns 0.52 s, 13 columns noticeably less). Columns
 * sent empty cost the engine little (20,000 actions with nine more, all empty: 350.0 against
 * 352.9 ms of CPU, docs/BENCHMARKS.md "2026-12-01, evening"); here they cost a field each.
 */
export function usedColumns(rows: EventRow[]): Column[] {
  return COLUMNS.filter((col) => col === "event_id" || rows.some((r) => !isDefault(col, r[col])));
}

/** The fields of the row toTsvRow is making, reused from row to row (one array, not one per row). */
const rowFields: string[] = [];

/**
 * One row of TabSeparated, without its newline. The hot path sends TSV rather than JSONEachRow:
 * ClickHouse parses it about twice as fast (measured on the embedded engine: 50k events 1.0 s as
 * slim JSON, 0.52 s as TSV including 0.16 s of encoding here), and ingest is bound by that parse.
 * The fields are joined once into one flat string: appended one by one, each field and tab was a
 * string of its own until the row was written (~30 per row), and every empty column the batch
 * sends (a revocation in the batch adds nine to every action) cost one more (docs/BENCHMARKS.md).
 */
export function toTsvRow(row: EventRow, columns: readonly Column[] = COLUMNS): string {
  rowFields.length = columns.length;
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i];
    const v = row[col];
    if (col === "attributes") {
      const attrs = v as Record<string, string>;
      let m = "";
      for (const k in attrs) m += (m ? "," : "") + quotedString(k) + ":" + quotedString(attrs[k]);
      rowFields[i] = `{${m}}`;
    } else if (v === null) {
      rowFields[i] = "\\N";
    } else if (v === undefined) {
      // Optional provenance a row does not carry (an event not posted through the API).
      rowFields[i] = "";
    } else {
      rowFields[i] = tsvField(String(v));
    }
  }
  return rowFields.join("\t");
}

/**
 * Rows serialised per SERIALISE_SLICE between two turns of the event loop: 20,000 rows at
 * once would hold the worker's event loop (kafkajs heartbeats, the jobs' timers) for over
 * 100 ms. Slices of 5,000 (~25 ms) rather than 1,000: each turn may wait for detection's and
 * the consumer's work on the same loop, and 27 waits per flush of 27,000 rows made serialising
 * it take about four times its own CPU time (npm run bench:scale).
 */
const SERIALISE_SLICE = 5_000;

/** An insert's body, serialised in slices (SERIALISE_SLICE). */
async function eventsInsert(rows: EventRow[]): Promise<EventsInsert> {
  const columns = usedColumns(rows);
  const body = new TsvBytes();
  for (let i = 0; i < rows.length; i += SERIALISE_SLICE) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    // Row by row: a slice's rows concatenated into one string lived, as thousands of strings,
    // until the slice was written.
    for (let j = i; j < Math.min(rows.length, i + SERIALISE_SLICE); j++) body.addLine(toTsvRow(rows[j], columns));
  }
  return { rows, columns, body: body.bytes() };
}

/** A batch's inserts, each of at most MAX_MONTHS_PER_INSERT months. */
async function eventsInserts(rows: EventRow[]): Promise<EventsInsert[]> {
  const inserts: EventsInsert[] = [];
  for (const group of groupByMonths(rows)) inserts.push(await eventsInsert(group));
  return inserts;
}

function dedupToken(rows: EventRow[]): string {
  // The Kafka coordinates a batch covers name it: per topic and partition, its first and last
  // offset and row count (rows of one partition arrive in offset order). The topic matters
  // since the OpenTelemetry intake's rows share flushes with the events topic's
  // (ingest/consumer.ts, submit).
  const ranges = new Map<string, [string, string, number]>();
  for (const r of rows) {
    const at = `${r.kafka_topic ?? ""}/${r.kafka_partition}`;
    const range = ranges.get(at);
    if (range) {
      range[1] = r.kafka_offset;
      range[2]++;
    } else ranges.set(at, [r.kafka_offset, r.kafka_offset, 1]);
  }
  const key = [...ranges.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, [first, last, n]]) => `${p}:${first}-${last}#${n}`).join(",");
  return createHash("sha1").update(`${key}|${rows[0]?.event_id}|${rows[rows.length - 1]?.event_id}`).digest("hex");
}

export class EventWriter {
  private readonly log = logger().child({ component: "event-writer" });
  /** First copies (id → hash) of batches sorted but not yet written (see sort()). */
  private readonly unstored = new Set<Map<string, string>>();
  /**
   * How many times first copies counted as stored by a sort turned out otherwise: rows
   * ClickHouse refused, or a batch sorted again that changed its first copies. A batch sorted
   * before the latest of these is sorted again before it is stored (see storeSorted()).
   */
  private corrections = 0;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly onRetry: (attempt: number, err: Error) => Promise<void> = async () => {},
    /** True when retrying for ever is no longer wanted (shutdown): give up after a few attempts. */
    private readonly givingUp: () => boolean = () => false,
    /**
     * The session sort() looks first copies up on: another than the inserts' in embedded mode,
     * where one session runs one query at a time, so that the lookup overlaps an insert.
     */
    private readonly lookupClient: ClickHouseClient = client,
  ) {}

  /**
   * Stores the first copy of each event and keeps conflicting later copies aside
   * (ingest/first-copies.ts); returns the rows ClickHouse refused and the rows detection may see.
   */
  async store(rows: EventRow[]): Promise<{ rejected: RejectedRow[]; forDetection: EventRow[] }> {
    return this.storeSorted(await this.sort(rows));
  }

  /**
   * The first step of store(), which may run while the previous batch is still being stored:
   * the first copies it sorted stay known here until storeSorted() has written them. Their
   * inserts are serialised here too, while the lookup runs, so that the store step hands the
   * engine bytes and nothing else. (Serialised inside the insert, the body waited between its
   * slices for detection's work on the same event loop, and the insert, the stage ingest
   * waits for, took longer: docs/BENCHMARKS.md.)
   */
  async sort(rows: EventRow[]): Promise<SortedBatch> {
    const correctionsAtSort = this.corrections;
    // The content hash is a column: stamped before the rows are sorted or serialised.
    await stamp(this.lookupClient, rows);
    // Nearly every row is a first copy: the inserts are serialised while the engine looks the
    // ids up, and again for the first copies alone when some rows turn out not to be.
    const [sorted, allRows] = await Promise.all([sortCopies(this.lookupClient, rows, [...this.unstored]), eventsInserts(rows)]);
    const inserts = sorted.first.length === rows.length ? allRows : await eventsInserts(sorted.first);
    const firstHashes = new Map(sorted.first.map((r) => [r.event_id, r.content_hash!]));
    this.unstored.add(firstHashes);
    forgetMessages(rows);
    return { ...sorted, firstHashes, inserts, rows, correctionsAtSort, refused: [], justRefused: [] };
  }

  /**
   * The second step of store(): writes a sorted batch (batches in the order they were sorted).
   * A row ClickHouse refuses is no first copy: the next copy of its id in the batch takes its
   * place, and a batch sorted before such a correction (see `corrections`) is sorted again
   * first, against the stored first copies alone (every batch sorted before it is stored by
   * now). Without this, a copy of an event whose first copy was refused (dead-lettered) was
   * taken for a repeat, handed to detection and never stored, or kept aside as a conflict.
   * Retried after a failure (the consumer's untilDone), it resumes: `inserts` holds only what
   * is not known to be written, and the refused rows are returned again for their letters.
   */
  async storeSorted(batch: SortedBatch): Promise<{ rejected: RejectedRow[]; forDetection: EventRow[] }> {
    if (batch.correctionsAtSort !== this.corrections) await this.sortAgain(batch);
    while (batch.inserts.length || batch.justRefused.length) {
      if (batch.inserts.length) {
        const refused = await this.writeInserts(batch.inserts);
        batch.inserts = [];
        batch.justRefused = refused;
      }
      if (batch.justRefused.length) await this.yieldToNextCopies(batch);
    }
    this.unstored.delete(batch.firstHashes);
    // After the rows: a conflict names a first copy that is stored.
    await keepConflicts(this.client, batch.conflicts);
    if (batch.refused.length === 0) return { rejected: [], forDetection: batch.forDetection };
    const refused = new Set(batch.refused.map((r) => r.row));
    return { rejected: batch.refused, forDetection: batch.forDetection.filter((r) => !refused.has(r)) };
  }

  /**
   * Corrections: the first copies a batch's sort counted as stored (the `unstored` maps) change
   * only in sortAgain and yieldToNextCopies, each change followed at once by this, so a batch
   * whose sort may have read a map before it changed is sorted again (storeSorted).
   */
  private corrected(batch: SortedBatch): void {
    this.corrections++;
    batch.correctionsAtSort = this.corrections;
  }

  /**
   * Rows ClickHouse just refused (`justRefused`): each is dead-lettered, and the next copy of its
   * id in the batch, if any, is sorted against what is stored and queued in `inserts` in its
   * place. Reads first, then changes the batch in one step: a failed read leaves it as it was
   * for the retry.
   */
  private async yieldToNextCopies(batch: SortedBatch): Promise<void> {
    const refused = batch.justRefused;
    const gone = new Set([...batch.refused, ...refused].map((r) => r.row));
    const ids = new Set(refused.map((r) => r.row.event_id));
    const copies = batch.rows.filter((r) => ids.has(r.event_id) && !gone.has(r));
    const sorted = copies.length ? await sortCopies(this.lookupClient, copies, [], batch.texts) : null;
    const inserts = sorted?.first.length ? await eventsInserts(sorted.first) : [];
    batch.refused.push(...refused);
    batch.justRefused = [];
    for (const r of refused) batch.firstHashes.delete(r.row.event_id);
    if (sorted) {
      batch.first = [...batch.first.filter((r) => !gone.has(r)), ...sorted.first];
      batch.forDetection = [...batch.forDetection.filter((r) => !ids.has(r.event_id)), ...sorted.forDetection];
      batch.conflicts = [...batch.conflicts.filter((c) => !ids.has(c.event_id)), ...sorted.conflicts];
      for (const [row, text] of sorted.texts) batch.texts.set(row, text);
      for (const r of sorted.first) batch.firstHashes.set(r.event_id, r.content_hash!);
    }
    batch.inserts = inserts;
    this.corrected(batch);
  }

  /**
   * Sorts a batch again in place (storeSorted). Its rows' messages are gone: a row that becomes
   * a conflict keeps the text its first sort kept (`texts`) or its decoded content. Its first
   * copies are updated where the batches sorted after it look them up; if they changed, that
   * is a correction too, and those batches are sorted again in their turn.
   */
  private async sortAgain(batch: SortedBatch): Promise<void> {
    const gone = new Set(batch.refused.map((r) => r.row));
    const sorted = await sortCopies(this.lookupClient, batch.rows.filter((r) => !gone.has(r)), [], batch.texts);
    const changed = sorted.first.length !== batch.first.length || sorted.first.some((r, i) => r !== batch.first[i]);
    const inserts = changed ? await eventsInserts(sorted.first) : batch.inserts;
    Object.assign(batch, sorted, { texts: new Map([...batch.texts, ...sorted.texts]), inserts, correctionsAtSort: this.corrections });
    if (!changed) return;
    batch.firstHashes.clear();
    for (const r of sorted.first) batch.firstHashes.set(r.event_id, r.content_hash!);
    this.corrected(batch);
    this.log.warn({ rows: batch.rows.length, first: sorted.first.length }, "batch sorted again: an earlier batch's first copies were not all stored");
  }

  /** Stores every row it can; returns the rows ClickHouse refused, each with its reason. */
  async write(rows: EventRow[]): Promise<RejectedRow[]> {
    return this.writeInserts(await eventsInserts(rows));
  }

  private async writeInserts(inserts: EventsInsert[]): Promise<RejectedRow[]> {
    const rejected: RejectedRow[] = [];
    for (const insert of inserts) await this.writeSplitting(insert, rejected, BOUNDED_ATTEMPTS);
    return rejected;
  }

  /** Stores every row of an insert it can; adds the rows ClickHouse refused, each with its reason, to `rejected`. */
  private async writeSplitting(insert: EventsInsert, rejected: RejectedRow[], attempts: number): Promise<void> {
    const { rows } = insert;
    try {
      await this.insertWithRetry(insert, attempts);
    } catch (err) {
      // Only thrown here while giving up (shutdown): the batch stays uncommitted and is redelivered.
      if (!isDataError(err) && isConnectivityFailure(err)) throw err;
      if (rows.length === 1) {
        const code = errorCode(err);
        rejected.push({ row: rows[0], reason: `clickhouse rejected the row${code ? ` (code ${code})` : ""}: ${(err as Error).message.slice(0, 500)}` });
        return;
      }
      const mid = rows.length >> 1;
      await this.writeSplitting(await eventsInsert(rows.slice(0, mid)), rejected, SPLIT_ATTEMPTS);
      await this.writeSplitting(await eventsInsert(rows.slice(mid)), rejected, SPLIT_ATTEMPTS);
    }
  }

  private async insertWithRetry({ rows, columns, body }: EventsInsert, attempts: number): Promise<void> {
    if (rows.length === 0) return;
    const token = dedupToken(rows);
    for (let attempt = 1; ; attempt++) {
      try {
        // Synchronous (the engine acknowledges durable rows: offsets are committed after
        // this returns), with the batch's token so that a retried insert changes nothing.
        await insertBytes(this.client, "events", columns as [Column, ...Column[]], body, { comment: "ingest:events", deduplicationToken: token });
        return;
      } catch (err) {
        if (isDataError(err) || (!isConnectivityFailure(err) && attempt >= attempts)) throw err;
        if (this.givingUp() && attempt > 3) throw err;
        const delay = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
        this.log.warn({ attempt, rows: rows.length, delayMs: delay, code: errorCode(err), err: (err as Error).message }, "insert failed; retrying");
        await this.onRetry(attempt, err as Error);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
