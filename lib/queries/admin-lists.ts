/**
 * The query of the admin lists without filters (GET /api/v1/users, /keys, /webhooks; docs/API.md):
 * parsed by their routes. The default page holds every row a deployment has in practice
 * (the settings pages show one page); `cursor` continues past it like every list.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import { decodeCursor, page } from "../http/cursor";
import { cursorParam, limitParam } from "../http/params";
import { queryRows } from "../store/clickhouse";
import { Conditions } from "./conditions";

export const adminListQuery = z.object({ limit: limitParam(1000), cursor: cursorParam });
/** What a caller may send, typed as the route reads it. */
export type AdminListQuery = z.output<typeof adminListQuery>;

/**
 * A page of an admin table's current rows, newest first (keys, webhook endpoints). `table` and
 * `columns` are the caller's constants, never user input; the cursor is bound.
 */
export async function newestFirstPage<T extends { created_at: string; id: string }>(
  client: ClickHouseClient,
  comment: string,
  table: string,
  columns: string,
  q: AdminListQuery,
): Promise<{ items: T[]; next_cursor: string | null }> {
  const c = new Conditions().before("created_at", "id", decodeCursor(q.cursor));
  const rows = await queryRows<T>(
    client,
    comment,
    `SELECT ${columns} FROM ${table} FINAL ${c.where} ORDER BY created_at DESC, id DESC LIMIT {limit:UInt32}`,
    { ...c.params, limit: q.limit + 1 },
  );
  return page(rows, q.limit, (r) => ({ t: r.created_at, id: r.id }));
}
