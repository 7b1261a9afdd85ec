/**
 * The few ways every module talks to ClickHouse. Each call is tagged with a log comment
 * (system.query_log shows who asked) and inserts carry the shared settings in one place:
 * synchronous (async_insert=0, so "stored" means stored: the caller commits offsets or answers
 * the user after it), with the table's deduplication token when the caller has one.
 * Every function takes its client as a parameter: the caller decides which session it runs on
 * (lib/store/clickhouse.ts).
 */
import { parseError, type ClickHouseClient, type ClickHouseSettings } from "@clickhouse/client";
import { Readable } from "node:stream";

type QuerySettings = NonNullable<Parameters<ClickHouseClient["query"]>[0]["clickhouse_settings"]>;

/** Runs a query with bound parameters and returns its rows. `comment` tags the query (log_comment) with its origin. */
export async function queryRows<T>(
  client: ClickHouseClient,
  comment: string,
  query: string,
  params: Record<string, unknown> = {},
  settings: QuerySettings = {},
): Promise<T[]> {
  const rs = await client.query({
    query,
    query_params: params,
    format: "JSONEachRow",
    clickhouse_settings: { ...settings, log_comment: comment },
  });
  return rs.json<T>();
}

/** Runs a query and yields its rows as they arrive (exports: nothing is held whole in memory). */
export async function* streamRows<T>(
  client: ClickHouseClient,
  comment: string,
  query: string,
  params: Record<string, unknown> = {},
  settings: QuerySettings = {},
): AsyncGenerator<T> {
  const rs = await client.query({
    query,
    query_params: params,
    format: "JSONEachRow",
    clickhouse_settings: { ...settings, log_comment: comment },
  });
  for await (const rows of rs.stream<T>()) {
    for (const row of rows) yield row.json();
  }
}

/** A statement without a result (DDL, ALTER, OPTIMIZE). */
export async function command(client: ClickHouseClient, comment: string, query: string, params: Record<string, unknown> = {}): Promise<void> {
  await client.command({ query, query_params: params, clickhouse_settings: { log_comment: comment } });
}

export interface InsertOptions {
  /** Tags the insert in system.query_log. */
  comment: string;
  /**
   * Makes a repeated insert of the same rows a no-op (the table's deduplication window),
   * together with what materialized views derived from them.
   */
  deduplicationToken?: string;
  /** Rows may carry fields the table does not have (e.g. in-memory bookkeeping). */
  skipUnknownFields?: boolean;
}

/** Inserts rows (JSONEachRow) synchronously: when it resolves, the rows are stored. */
export async function insertRows<T>(client: ClickHouseClient, table: string, rows: readonly T[], options: InsertOptions): Promise<void> {
  if (rows.length === 0) return;
  await client.insert({
    table,
    values: rows as T[],
    format: "JSONEachRow",
    clickhouse_settings: insertSettings(options),
  });
}

/**
 * The embedded engine's raw insert, for clients made on a chdb session (lib/store/clickhouse.ts
 * registers them): it hands bytes to the engine as they are, where @clickhouse/client's
 * insert would turn them into a string and the engine back into bytes.
 */
export interface RawInsert {
  (params: { table: string; columns: readonly string[]; format: "TabSeparated"; values: Uint8Array; settings: Record<string, string | number | boolean> }): Promise<unknown>;
}
const rawInserts = new WeakMap<ClickHouseClient, { rawInsert: RawInsert; settings: Record<string, string | number | boolean> }>();

/** The raw insert registered for a client, if any: benchmark instrumentation times it (bench/scale-profile.ts). */
export function rawInsertOf(client: ClickHouseClient): { rawInsert: RawInsert } | undefined {
  return rawInserts.get(client);
}

/** Marks a client as one on a chdb session; `settings` are its defaults, which the raw insert does not apply by itself. */
export function registerRawInsert(client: ClickHouseClient, rawInsert: RawInsert, settings: Record<string, string | number | boolean>): void {
  rawInserts.set(client, { rawInsert, settings });
}

/**
 * Inserts TabSeparated rows that are already bytes (made in a worker thread, ingest/otlp-thread.ts),
 * synchronously, without turning them into a string on this thread.
 */
export async function insertBytes(client: ClickHouseClient, table: string, columns: [string, ...string[]], rows: Uint8Array, options: InsertOptions): Promise<void> {
  if (rows.byteLength === 0) return;
  const settings = insertSettings(options);
  const raw = rawInserts.get(client);
  if (raw) {
    try {
      await raw.rawInsert({ table, columns, format: "TabSeparated", values: rows, settings: { ...raw.settings, ...(settings as Record<string, string | number>) } });
    } catch (err) {
      // chdb's own error classes carry codes of their own ("CHDB_QUERY"); callers decide on
      // ClickHouse's code (e.g. ingest/event-writer.ts: bad data, or try again later), which
      // the message holds ("Code: 27. DB::Exception: …"), as the client's insert reports it.
      const mapped = parseError((err as Error).message ?? String(err));
      if (mapped !== err) mapped.cause = err;
      throw mapped;
    }
    return;
  }
  await client.insert({
    table,
    columns,
    format: "TabSeparated",
    values: Readable.from([Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength)], { objectMode: false }),
    clickhouse_settings: settings,
  });
}

/** The settings every insert carries; for the few writers that must pick another format (ingest's TabSeparated). */
export function insertSettings({ comment, deduplicationToken, skipUnknownFields }: InsertOptions): ClickHouseSettings {
  const settings: ClickHouseSettings = { log_comment: comment, async_insert: 0 };
  if (skipUnknownFields) settings.input_format_skip_unknown_fields = 1;
  if (deduplicationToken) {
    settings.insert_deduplication_token = deduplicationToken;
    settings.deduplicate_blocks_in_dependent_materialized_views = 1;
  }
  return settings;
}

/**
 * A time bound as a String parameter: ClickHouse's DateTime64 parameters do not accept
 * the API's ISO-8601 "…Z" form, parseDateTime64BestEffort does (and is constant-folded,
 * so indexes and partition pruning still apply).
 */
export const timeBound = (name: string) => `parseDateTime64BestEffort({${name}:String}, 3, 'UTC')`;
