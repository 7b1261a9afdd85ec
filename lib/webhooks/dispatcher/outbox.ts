/**
 * Tailing the outbox. The outbox is alert_history: every stored alert change is a row with
 * a microsecond seq. The tail reads rows past a cursor persisted in webhook_cursor, hands
 * the ones not yet handled to a callback, then advances and persists the cursor.
 *
 * Why a lookback: seq values written by two processes (two workers, or an analyst's status
 * change in a web process) can become visible out of order, so a change with a seq below
 * the cursor can appear late. A lookback pass re-reads the last LOOKBACK_US below the
 * cursor and skips changes already handled (by (alert_id, seq) in memory here, and by the
 * deterministic delivery id in the table after a restart, see ./fanout.ts).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { insertRows, queryRows } from "../../store/clickhouse";
import { nextVersion } from "../../store/version";
import type { OutboxRow } from "./fanout";

export const LOOKBACK_US = 60_000_000;
const OUTBOX_PAGE = 5_000;
const CURSOR_NAME = "alert_history";

export class OutboxTail {
  private cursor = 0;
  private persistedCursor = 0;
  /** `${alert_id}|${seq}` of changes handled, pruned below the lookback window. */
  private readonly handled = new Map<string, number>();

  constructor(
    private readonly reader: ClickHouseClient,
    private readonly writer: ClickHouseClient,
  ) {}

  /** Loads the persisted cursor; returns it. */
  async load(): Promise<number> {
    const rows = await queryRows<{ seq: number }>(this.reader, "webhooks:cursor", `SELECT seq FROM webhook_cursor FINAL WHERE name = {n:String}`, { n: CURSOR_NAME });
    this.cursor = this.persistedCursor = Number(rows[0]?.seq ?? 0);
    return this.cursor;
  }

  /**
   * Hands new outbox rows to `handle` (page by page), then advances and persists the cursor.
   * Rows that `handle` gives back are not marked handled: the next lookback pass offers them again.
   */
  async read(lookback: boolean, handle: (changes: OutboxRow[]) => Promise<OutboxRow[] | void>): Promise<void> {
    let from = lookback ? Math.max(0, this.cursor - LOOKBACK_US) : this.cursor;
    for (;;) {
      const rows = await queryRows<OutboxRow>(
        this.reader,
        "webhooks:outbox",
        `SELECT alert_id, at, seq, kind FROM alert_history WHERE seq > {from:UInt64} ORDER BY seq LIMIT {n:UInt32}`,
        { from, n: OUTBOX_PAGE },
      );
      const fresh = rows.filter((r) => !this.handled.has(`${r.alert_id}|${r.seq}`));
      const retry = new Set(fresh.length ? ((await handle(fresh)) ?? []) : []);
      for (const r of rows) {
        if (!retry.has(r)) this.handled.set(`${r.alert_id}|${r.seq}`, Number(r.seq));
        this.cursor = Math.max(this.cursor, Number(r.seq));
      }
      if (rows.length < OUTBOX_PAGE) break;
      from = Number(rows[rows.length - 1].seq);
    }
    const floor = this.cursor - 2 * LOOKBACK_US;
    for (const [k, seq] of this.handled) if (seq < floor) this.handled.delete(k);
    if (this.cursor > this.persistedCursor) {
      await insertRows(this.writer, "webhook_cursor", [{ name: CURSOR_NAME, seq: this.cursor, version: nextVersion() }], { comment: "webhooks:cursor" });
      this.persistedCursor = this.cursor;
    }
  }
}
