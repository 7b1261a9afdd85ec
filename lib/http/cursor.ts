/**
 * Opaque keyset cursors. A cursor names the last row of a page by its sort key
 * (time, then a unique id), so the next page is "rows strictly before that key":
 * stable while new (newer) rows arrive, unlike OFFSET.
 */
import { z } from "zod";
import { badParam } from "./errors";

export interface CursorKey {
  t: string;
  id: string;
}

/** t: the sort value (a time for most lists), id: the unique tie-breaker. */
const cursorSchema = z.object({ t: z.string(), id: z.string() });

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** The answer to a cursor this API did not issue, wherever it fails to make sense: 400, param "cursor". */
export const badCursor = () => badParam("cursor", "not a cursor this API issued");

export function decodeCursor(cursor: string | undefined): CursorKey | null {
  if (!cursor) return null;
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
  } catch {
    throw badCursor();
  }
}

/** A tie-breaker made of several ids (encodeIds), read back; anything else is a bad cursor. */
export function decodeIds(id: string, count: number): string[] {
  try {
    return z.array(z.string()).length(count).parse(JSON.parse(id));
  } catch {
    throw badCursor();
  }
}

/** Several ids as one cursor tie-breaker (a row whose identity is a pair, say). */
export const encodeIds = (...ids: string[]) => JSON.stringify(ids);

// The times this API sends (ISO-8601 UTC, lib/store/clickhouse.ts), the only ones a cursor it issued holds.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** A cursor's sort value as a time; a value that is not one is a bad cursor (not a ClickHouse error). */
export function cursorTime(key: CursorKey): string {
  if (!ISO_TIME.test(key.t) || Number.isNaN(Date.parse(key.t))) throw badCursor();
  return key.t;
}

/** Given limit+1 rows fetched, returns the page and the next cursor. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => CursorKey): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const next_cursor = rows.length > limit ? encodeCursor(keyOf(items[items.length - 1])) : null;
  return { items, next_cursor };
}
