/**
 * Reads of post-revocation actions (the investigator list of docs/API.md): JSON pages, and
 * exports that stream page by page so that a million rows never sit in memory at once.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { stringify } from "csv-stringify/sync";
import { z } from "zod";
import type { PostRevocationAction } from "../detection/types";
import { cursorTime, decodeCursor, decodeIds, encodeIds, page, type CursorKey } from "../http/cursor";
import { boolParam, cursorParam, idParam, limitParam, timeParam } from "../http/params";
import { logger } from "../log";
import { queryRows, timeBound } from "../store/clickhouse";
import { Conditions } from "./conditions";

/** GET /api/v1/post-revocation-actions: parsed by the route, typed by the UI hook (components/data/investigate.ts). */
export const pairListQuery = z.object({
  agent_id: idParam.optional(),
  pipeline_id: idParam.optional(),
  credential_id: idParam.optional(),
  session_id: idParam.optional(),
  revocation_id: idParam.optional(),
  layer: z.string().min(1).max(64).optional(),
  decision: z.enum(["allow", "deny", "unknown"]).optional(),
  violation: boolParam.optional(),
  via: z.enum(["direct", "cascade"]).optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
  format: z.enum(["json", "ndjson", "csv"]).default("json"),
  limit: limitParam(100),
  cursor: cursorParam,
});
export type PairFilters = Omit<z.output<typeof pairListQuery>, "format" | "limit" | "cursor">;

export const PAIR_COLUMNS = [
  "event_id", "revocation_id", "violation", "via", "time", "agent_id", "pipeline_id", "session_id",
  "credential_id", "layer", "action", "resource", "decision", "sensitivity",
] as const;

function where(f: PairFilters, after: CursorKey | null): Conditions {
  const c = new Conditions()
    .equals(f, ["agent_id", "pipeline_id", "credential_id", "session_id", "layer", "decision", "revocation_id", "via"])
    .timeRange("time", f.from, f.to);
  if (f.violation !== undefined) c.add("violation = {violation:Bool}", { violation: f.violation });
  if (after) {
    // The tie-breaker is (event_id, revocation_id): a pair's identity.
    const [eventId, revocationId] = decodeIds(after.id, 2);
    c.add(`(time, event_id, revocation_id) < (${timeBound("c_t")}, {c_e:String}, {c_r:String})`, { c_t: cursorTime(after), c_e: eventId, c_r: revocationId });
  }
  return c;
}

const keyOf = (p: PostRevocationAction): CursorKey => ({ t: p.time, id: encodeIds(p.event_id, p.revocation_id) });

async function fetchPage(client: ClickHouseClient, f: PairFilters, after: CursorKey | null, limit: number) {
  const w = where(f, after);
  return queryRows<PostRevocationAction>(
    client,
    "api:postRevocationActions",
    `SELECT ${PAIR_COLUMNS.join(", ")} FROM post_revocation_actions FINAL ${w.where}
     ORDER BY time DESC, event_id DESC, revocation_id DESC LIMIT {limit:UInt32}`,
    { ...w.params, limit },
  );
}

/**
 * Where an action came from when a standard intake made it (docs/INTAKES.md):
 * the OpenTelemetry service, span and original export named in its attributes.
 */
export interface ActionOrigin {
  kind: "otlp";
  service: string;
  span_name: string;
  trace_id: string;
  span_id: string;
  export_id: string;
}

export type PairWithOrigin = PostRevocationAction & { origin: ActionOrigin | null };

/**
 * The origins of a page's actions, in one read of the events table by its key prefix (agent,
 * time range) so that it stays cheap however large the table grows.
 */
async function originsOf(client: ClickHouseClient, rows: PostRevocationAction[]): Promise<Map<string, ActionOrigin>> {
  const out = new Map<string, ActionOrigin>();
  if (!rows.length) return out;
  const times = rows.map((r) => Date.parse(r.time));
  const found = await queryRows<ActionOrigin & { event_id: string }>(
    client,
    "api:pairOrigins",
    `SELECT event_id, 'otlp' AS kind, attributes['otel.service.name'] AS service, attributes['otel.span.name'] AS span_name,
            trace_id, span_id, attributes['otel.export_id'] AS export_id
     FROM events
     WHERE agent_id IN {agents:Array(String)} AND time >= ${timeBound("from")} AND time <= ${timeBound("to")}
       AND event_id IN {ids:Array(String)} AND attributes['revenant.origin'] = 'otlp'
     LIMIT 1 BY event_id`,
    {
      agents: [...new Set(rows.map((r) => r.agent_id))],
      from: new Date(Math.min(...times)).toISOString(),
      to: new Date(Math.max(...times)).toISOString(),
      ids: [...new Set(rows.map((r) => r.event_id))],
    },
  );
  for (const { event_id, ...origin } of found) out.set(event_id, origin);
  return out;
}

/** A JSON page of pairs; each names its origin when a standard intake made the action (exports do not). */
export async function listPairs(client: ClickHouseClient, f: PairFilters, cursor: string | undefined, limit: number) {
  const rows = await fetchPage(client, f, decodeCursor(cursor), limit + 1);
  const result = page(rows, limit, keyOf);
  const origins = await originsOf(client, result.items);
  return { ...result, items: result.items.map((r): PairWithOrigin => ({ ...r, origin: origins.get(r.event_id) ?? null })) };
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
      let next: IteratorResult<PostRevocationAction[]>;
      try {
        next = await pages.next();
      } catch (err) {
        // The status (200) and the rows so far are sent: erroring the stream aborts the
        // response, so the client sees a cut transfer rather than a complete-looking file.
        logger().error({ err: (err as Error).message, format }, "export failed part-way; response aborted");
        throw err;
      }
      if (next.done) {
        if (first && format === "csv") controller.enqueue(encoder.encode(stringify([], { header: true, columns: [...PAIR_COLUMNS] })));
        controller.close();
        return;
      }
      const rows = next.value;
      const text =
        format === "csv"
          ? // escape_formulas: agent-controlled values (resource, action) must not run as
            // spreadsheet formulas when an investigator opens the export.
            stringify(rows, { header: first, columns: [...PAIR_COLUMNS], cast: { boolean: (v) => String(v) }, escape_formulas: true })
          : rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
      first = false;
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      await pages.return(undefined);
    },
  });
}

