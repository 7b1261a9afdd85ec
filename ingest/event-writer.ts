/**
 * Writes decoded events to ClickHouse, defensively (STYLE: "a defensive writer on the hot path").
 *
 * - Connectivity failures (engine down, server unreachable) are retried with capped
 *   exponential backoff for as long as it takes; the caller keeps heartbeating meanwhile.
 * - A batch that ClickHouse rejects for its content is split in halves until the bad row
 *   is isolated, so one bad row never sinks its neighbours; that row is handed back to be
 *   dead-lettered with ClickHouse's reason.
 * - Each insert carries an insert_deduplication_token derived from the Kafka coordinates
 *   it holds, so a retried insert of the same rows is dropped by the table
 *   (non_replicated_deduplication_window); ReplacingMergeTree on event_id catches the rest.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createHash } from "node:crypto";
import type { StoredEvent } from "@/lib/events/schema";
import { logger } from "@/lib/log";

export interface EventRow extends StoredEvent {
  kafka_partition: number;
  kafka_offset: string;
}

export interface RejectedRow {
  row: EventRow;
  reason: string;
}

/** ClickHouse error codes that mean "this data is wrong", as opposed to "try again later". */
function isDataError(err: unknown): boolean {
  const code = Number((err as { code?: string | number }).code);
  // 6 CANNOT_PARSE_TEXT, 27 CANNOT_PARSE_INPUT_ASSERTION_FAILED, 53 TYPE_MISMATCH, 41/38 date parse,
  // 117 INCORRECT_DATA, 26 CANNOT_PARSE_QUOTED_STRING, 69 ARGUMENT_OUT_OF_BOUND, 70 CANNOT_CONVERT_TYPE
  return [6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131].includes(code);
}

function dedupToken(rows: EventRow[]): string {
  const h = createHash("sha1");
  for (const r of rows) h.update(`${r.kafka_partition}:${r.kafka_offset}:${r.event_id}\n`);
  return h.digest("hex");
}

export class EventWriter {
  private readonly log = logger().child({ component: "event-writer" });

  constructor(
    private readonly client: ClickHouseClient,
    private readonly onRetry: (attempt: number, err: Error) => Promise<void> = async () => {},
  ) {}

  /** Stores every row it can; returns the rows ClickHouse refused, each with its reason. */
  async write(rows: EventRow[]): Promise<RejectedRow[]> {
    if (rows.length === 0) return [];
    const rejected: RejectedRow[] = [];
    await this.writeSplitting(rows, rejected);
    return rejected;
  }

  private async writeSplitting(rows: EventRow[], rejected: RejectedRow[]): Promise<void> {
    try {
      await this.insertWithRetry(rows);
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (rows.length === 1) {
        rejected.push({ row: rows[0], reason: `clickhouse rejected the row: ${(err as Error).message.slice(0, 500)}` });
        return;
      }
      const mid = rows.length >> 1;
      await this.writeSplitting(rows.slice(0, mid), rejected);
      await this.writeSplitting(rows.slice(mid), rejected);
    }
  }

  private async insertWithRetry(rows: EventRow[]): Promise<void> {
    const token = dedupToken(rows);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.insert({
          table: "events",
          format: "JSONEachRow",
          values: rows,
          clickhouse_settings: {
            insert_deduplication_token: token,
            // The engine waits for the rows to be durable before acknowledging: offsets are
            // committed right after this returns.
            async_insert: 0,
            log_comment: "ingest:events",
          },
        });
        return;
      } catch (err) {
        if (isDataError(err)) throw err;
        const delay = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
        this.log.warn({ attempt, rows: rows.length, delayMs: delay, err: (err as Error).message }, "insert failed; retrying");
        await this.onRetry(attempt, err as Error);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
