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

export function decodeCursor(cursor: string | undefined): CursorKey | null {
  if (!cursor) return null;
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
  } catch {
    throw badParam("cursor", "not a cursor this API issued");
  }
}

/** Given limit+1 rows fetched, returns the page and the next cursor. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => CursorKey): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const next_cursor = rows.length > limit ? encodeCursor(keyOf(items[items.length - 1])) : null;
  return { items, next_cursor };
}
