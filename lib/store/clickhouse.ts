/**
 * ClickHouse access, always through @clickhouse/client.
 *
 * Embedded mode (default): the chdb engine in this process, through chdb/connection.
 * One chdb session runs one query at a time, so the process keeps two sessions on the
 * same data directory: `writer` (ingest inserts, detection) and `reader` (API queries),
 * which run in parallel. Only one process may own an embedded data directory.
 *
 * Server mode (CLICKHOUSE_URL): both names point at one HTTP client with a connection pool.
 *
 * The clients live on globalThis: Next.js bundles route handlers and instrumentation
 * separately, and module-level variables are not shared between those bundles.
 */
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { mkdirSync } from "node:fs";
import { config, type Config } from "../config";

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>["connection"]>;

export interface Store {
  writer: ClickHouseClient;
  reader: ClickHouseClient;
  /** Detection's derivation scans (lib/detection/derivation.ts), beside ingest's writer. */
  scanner: ClickHouseClient;
  /**
   * Enforcement points' credential status reads (lib/feed/status.ts), on their own session so a
   * slow dashboard query never holds up a lookup made on a tool call's path.
   */
  lookup: ClickHouseClient;
  mode: "embedded" | "server";
  close(): Promise<void>;
}

// Times leave ClickHouse as ISO-8601 UTC (2026-01-01T00:00:00.000Z), the API's format.
const COMMON_SETTINGS = {
  date_time_output_format: "iso",
  date_time_input_format: "best_effort",
  output_format_json_quote_64bit_integers: 0,
} as const;

export function createStore(cfg: Config = config()): Store {
  if (cfg.CLICKHOUSE_URL) {
    const client = createClient({
      url: cfg.CLICKHOUSE_URL,
      username: cfg.CLICKHOUSE_USER,
      password: cfg.CLICKHOUSE_PASSWORD,
      database: cfg.CLICKHOUSE_DATABASE,
      clickhouse_settings: COMMON_SETTINGS,
      request_timeout: 60_000,
    });
    return { writer: client, reader: client, scanner: client, lookup: client, mode: "server", close: () => client.close() };
  }
  mkdirSync(cfg.chdbPath, { recursive: true });
  const embedded = () =>
    createClient({
      // @clickhouse/client bundles its own copy of client-common, so its Connection type and
      // chdb's differ nominally while agreeing structurally: a narrow cast is needed (TS2322 otherwise).
      connection: createChdbConnection({ path: cfg.chdbPath }) as unknown as ClientConnection,
      clickhouse_settings: COMMON_SETTINGS,
    });
  const writer = embedded();
  const reader = embedded();
  const scanner = embedded();
  const lookup = embedded();
  return {
    writer,
    reader,
    scanner,
    lookup,
    mode: "embedded",
    close: async () => {
      await lookup.close();
      await scanner.close();
      await reader.close();
      await writer.close();
    },
  };
}

const globalKey = Symbol.for("revenant.store");
type WithStore = typeof globalThis & { [globalKey]?: Store };

/** The process's store, created on first use. */
export function store(): Store {
  const g = globalThis as WithStore;
  g[globalKey] ??= createStore();
  return g[globalKey]!;
}

export async function closeStore(): Promise<void> {
  const g = globalThis as WithStore;
  const s = g[globalKey];
  delete g[globalKey];
  await s?.close();
}

/** Runs a query with bound parameters and returns its rows. `comment` tags the query (log_comment) with its origin. */
export async function queryRows<T>(
  client: ClickHouseClient,
  comment: string,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  const rs = await client.query({
    query,
    query_params: params,
    format: "JSONEachRow",
    clickhouse_settings: { log_comment: comment },
  });
  return rs.json<T>();
}

/**
 * A time bound as a String parameter: ClickHouse's DateTime64 parameters do not accept
 * the API's ISO-8601 "…Z" form, parseDateTime64BestEffort does (and is constant-folded,
 * so indexes and partition pruning still apply).
 */
export const timeParam = (name: string) => `parseDateTime64BestEffort({${name}:String}, 3, 'UTC')`;
