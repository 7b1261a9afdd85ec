/**
 * Reads of post-revocation actions (the investigator list of SPEC §3): JSON pages, and
 * exports that stream page by page so that a million rows never sit in memory at once.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { stringify } from "csv-stringify/sync";
import type { PostRevocationAction } from "../detection/types";
import { decodeCursor, encodeCursor, page, type CursorKey } from "../http/cursor";
import { queryRows } from "../store/clickhouse";

export interface PairFilters {
  agent_id?: string;
  pipeline_id?: string;
  credential_id?: string;
  session_id?: string;
  layer?: string;
  decision?: string;
  revocation_id?: string;
  violation?: boolean;
  via?: string;
  from?: string;
  to?: string;
}

export const PAIR_COLUMNS = [
  "event_id", "revocation_id", "violation", "via", "time", "agent_id", "pipeline_id", "session_id",
  "credential_id", "layer", "action", "resource", "decision", "sensitivity",
] as const;

/** Builds the WHERE clause from a fixed set of column conditions; values are always bound. */
function where(f: PairFilters, after: CursorKey | null): { sql: string; params: Record<string, unknown> } {
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  const eq = ["agent_id", "pipeline_id", "credential_id", "session_id", "layer", "decision", "revocation_id", "via"] as const;
  for (const col of eq) {
    if (f[col] !== undefined) {
      parts.push(`${col} = {${col}:String}`);
      params[col] = f[col];
    }
  }
  if (f.violation !== undefined) {
    parts.push("violation = {violation:Bool}");
    params.violation = f.violation;
  }
  if (f.from) {
    parts.push("time >= parseDateTime64BestEffort({from:String}, 3, 'UTC')");
    params.from = f.from;
  }
  if (f.to) {
    parts.push("time <= parseDateTime64BestEffort({to:String}, 3, 'UTC')");
    params.to = f.to;
  }
  if (after) {
    const [eventId, revocationId] = JSON.parse(after.id) as [string, string];
    parts.push("(time, event_id, revocation_id) < (parseDateTime64BestEffort({c_t:String}, 3, 'UTC'), {c_e:String}, {c_r:String})");
    Object.assign(params, { c_t: after.t, c_e: eventId, c_r: revocationId });
  }
  return { sql: parts.length ? `WHERE ${parts.join(" AND ")}` : "", params };
}

const keyOf = (p: PostRevocationAction): CursorKey => ({ t: p.time, id: JSON.stringify([p.event_id, p.revocation_id]) });

async function fetchPage(client: ClickHouseClient, f: PairFilters, after: CursorKey | null, limit: number) {
  const w = where(f, after);
  return queryRows<PostRevocationAction>(
    client,
    "api:postRevocationActions",
    `SELECT ${PAIR_COLUMNS.join(", ")} FROM post_revocation_actions FINAL ${w.sql}
     ORDER BY time DESC, event_id DESC, revocation_id DESC LIMIT {limit:UInt32}`,
    { ...w.params, limit },
  );
}

export async function listPairs(client: ClickHouseClient, f: PairFilters, cursor: string | undefined, limit: number) {
  const rows = await fetchPage(client, f, decodeCursor(cursor), limit + 1);
  return page(rows, limit, keyOf);
}

/** Every matching pair, newest first, fetched in keyset pages of `chunk` rows. */
export async function* allPairs(client: ClickHouseClient, f: PairFilters, chunk = 5000): AsyncGenerator<PostRevocationAction[]> {
  let after: CursorKey | null = null;
  for (;;) {
    const rows = await fetchPage(client, f, after, chunk);
    if (rows.length) yield rows;
    if (rows.length < chunk) return;
    after = keyOf(rows[rows.length - 1]);
  }
}

/** A streamed export body: NDJSON (one pair per line) or CSV with a header row. */
export function exportStream(client: ClickHouseClient, f: PairFilters, format: "ndjson" | "csv"): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const pages = allPairs(client, f);
  let first = true;
  return new ReadableStream<Uint8Array>({
    // pull() runs only when the client has taken what was sent: back-pressure reaches
    // ClickHouse, one page at a time.
    async pull(controller) {
      const next = await pages.next();
      if (next.done) {
        if (first && format === "csv") controller.enqueue(encoder.encode(stringify([], { header: true, columns: [...PAIR_COLUMNS] })));
        controller.close();
        return;
      }
      const rows = next.value;
      const text =
        format === "csv"
          ? stringify(rows, { header: first, columns: [...PAIR_COLUMNS], cast: { boolean: (v) => String(v) } })
          : rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
      first = false;
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      await pages.return(undefined);
    },
  });
}

export { encodeCursor };
