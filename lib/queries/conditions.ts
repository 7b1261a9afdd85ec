/**
 * WHERE clauses for the API's list queries. Column names come from the code (fixed lists
 * per query); every value is a bound parameter.
 */
import { cursorTime, type CursorKey } from "../http/cursor";
import { timeBound } from "../store/clickhouse";

export class Conditions {
  private readonly parts: string[] = [];
  readonly params: Record<string, unknown> = {};

  /** `col = {col:String}` for each listed column whose filter value is set. */
  equals<K extends string>(filters: Partial<Record<K, unknown>>, columns: readonly K[]): this {
    for (const col of columns) {
      const value = filters[col];
      if (value === undefined) continue;
      this.parts.push(`${col} = {${col}:String}`);
      this.params[col] = value;
    }
    return this;
  }

  /** `column` between from and to, both inclusive and optional. */
  timeRange(column: string, from?: string, to?: string): this {
    if (from) this.add(`${column} >= ${timeBound("from")}`, { from });
    if (to) this.add(`${column} <= ${timeBound("to")}`, { to });
    return this;
  }

  /** Rows whose `columns` (any of them) contain `text`, case-insensitively; nothing when text is empty. */
  search(columns: readonly string[], text: string | undefined): this {
    if (text) this.add(`(${columns.map((c) => `positionCaseInsensitive(${c}, {q:String}) > 0`).join(" OR ")})`, { q: text });
    return this;
  }

  /** Keyset pagination: rows strictly before (time, id) in a newest-first order. */
  before(timeColumn: string, idColumn: string, cursor: CursorKey | null): this {
    if (cursor) this.add(`(${timeColumn}, ${idColumn}) < (${timeBound("c_t")}, {c_id:String})`, { c_t: cursorTime(cursor), c_id: cursor.id });
    return this;
  }

  /** Keyset pagination: rows strictly after (text key, id) in an ascending order (lists sorted by a name). */
  after(keyColumn: string, idColumn: string, cursor: CursorKey | null): this {
    if (cursor) this.add(`(${keyColumn}, ${idColumn}) > ({c_t:String}, {c_id:String})`, { c_t: cursor.t, c_id: cursor.id });
    return this;
  }

  add(sql: string, params: Record<string, unknown> = {}): this {
    this.parts.push(sql);
    Object.assign(this.params, params);
    return this;
  }

  get where(): string {
    return this.parts.length ? `WHERE ${this.parts.join(" AND ")}` : "";
  }

  /** The same conditions as a HAVING clause (filters on aggregates). */
  get having(): string {
    return this.parts.length ? `HAVING ${this.parts.join(" AND ")}` : "";
  }
}
