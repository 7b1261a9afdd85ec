/**
 * ClickHouse access, always through @clickhouse/client.
 *
 * Embedded mode (default): the chdb engine in this process, through chdb/connection.
 * One chdb session runs one query at a time, so the process keeps several sessions on the
 * same data directory, which run in parallel (see createStore). Only one process may own an
 * embedded data directory.
 *
 * Server mode (CLICKHOUSE_URL): two HTTP clients with their own connection pools.
 *
 * The reader is read-only and bounded (readSettings): it serves the API, whose input comes
 * from users, so it cannot write, cannot run for longer than CLICKHOUSE_READ_TIMEOUT_S and
 * cannot return more than CLICKHOUSE_READ_MAX_ROWS rows. Ingest and migrations use the
 * writer, detection the detector.
 *
 * The clients live on globalThis: Next.js bundles route handlers and instrumentation
 * separately, and module-level variables are not shared between those bundles.
 */
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { drainPending, Session } from "chdb";
import { chmodSync, mkdirSync } from "node:fs";
import { config, type Config } from "../config";
import { quietForExit } from "../log";
import { createSessionPool } from "./session-pool";
import { registerRawInsert } from "./verbs";

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>["connection"]>;

export interface Store {
  writer: ClickHouseClient;
  /**
   * Detection's per-batch work (lib/detection/engine.ts), beside ingest's inserts on `writer`: a
   * batch's detection runs while the next batch is being stored (ingest/batcher.ts).
   */
  detector: ClickHouseClient;
  /** Detection's summaries and alerts (lib/detection/publisher.ts), beside the batches. */
  publisher: ClickHouseClient;
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

/**
 * The reader's limits. readonly=2: no writes and no DDL, but per-query settings (log_comment,
 * output formats) may still be set; readonly=1 would refuse those too. A timed-out query
 * fails with code 159 and an over-large result with code 396 (lib/http/errors.ts turns both
 * into API errors that say what to do).
 */
export function readSettings(cfg: Config) {
  return {
    ...COMMON_SETTINGS,
    readonly: "2",
    max_execution_time: cfg.CLICKHOUSE_READ_TIMEOUT_S,
    timeout_overflow_mode: "throw",
    max_result_rows: String(cfg.CLICKHOUSE_READ_MAX_ROWS),
    result_overflow_mode: "throw",
  } as const;
}

/**
 * A SETTINGS clause for small reads, a few granules in each of many parts (an agent's timeline:
 * its events by primary key, detection's small tables): the engine maps the column files
 * instead of reading each range into a buffer of its own, measured 10–20% faster per query on
 * bench:scale's store (bench/timeline-probe.ts).
 * In the query's text, so that it applies to that query only: a setting given with the call
 * would stay on the session for the calls after it (lib/store/session-pool.ts).
 */
export const SMALL_READS = "SETTINGS local_filesystem_read_method = 'mmap', min_bytes_to_use_mmap_io = 1";

/**
 * Derivation scans yield the CPU to ingest and detection (a nice value for their query threads,
 * os_thread_priority): on a busy machine a long scan of history waits rather than slow down the
 * insert path and the alerts of the incident in progress; an idle machine runs it at full speed.
 */
const BACKGROUND_SETTINGS = { ...COMMON_SETTINGS, os_thread_priority: "10" } as const;

type Settings = typeof COMMON_SETTINGS | typeof BACKGROUND_SETTINGS | ReturnType<typeof readSettings>;

export function createStore(cfg: Config = config()): Store {
  if (cfg.CLICKHOUSE_URL) {
    const server = (settings: Settings) =>
      createClient({
        url: cfg.CLICKHOUSE_URL,
        username: cfg.CLICKHOUSE_USER,
        password: cfg.CLICKHOUSE_PASSWORD,
        database: cfg.CLICKHOUSE_DATABASE,
        clickhouse_settings: settings,
        request_timeout: 60_000,
      });
    const writer = server(COMMON_SETTINGS);
    const reader = server(readSettings(cfg));
    // Derivation scans share the writer's connection pool, lookups the reader's, in server mode.
    return closing({ writer, detector: writer, publisher: writer, reader, scanner: writer, lookup: reader }, "server");
  }
  // 0700: the data directory holds the evidence, password hashes and webhook secrets, and
  // nobody but the service account needs to list it. mkdir's mode applies to the folders it
  // creates; an engine folder made by an older version is tightened too.
  mkdirSync(cfg.chdbPath, { recursive: true, mode: 0o700 });
  chmodSync(cfg.chdbPath, 0o700);
  // The first connection to the data directory starts the engine with its arguments, and the
  // sessions below join that engine; once they are open it is not needed. (A store opened while
  // the engine already runs joins it as it is.)
  const starter = new Session(cfg.chdbPath, { connectionArgs: engineArguments(cfg) });
  try {
    return embeddedStore(cfg);
  } finally {
    starter.close();
  }
}

function embeddedStore(cfg: Config): Store {
  const embedded = (settings: Settings, sessions = 1) => embeddedClient(cfg, settings, sessions);
  // Sessions on one data directory run in parallel: ingest's inserts (writer), detection of
  // the previous batch (detector), detection's summaries and alerts (publisher, a pool: a cycle
  // reads states, counters and alerts at once), the API (reader, read-only and bounded, a pool
  // of CLICKHOUSE_READ_SESSIONS: one page's reads and several analysts' pages run side by side),
  // derivation scans (scanner, unbounded: a late revocation of a busy agent may read a long
  // history), credential status lookups (lookup).
  return closing(
    {
      writer: embedded(COMMON_SETTINGS),
      detector: embedded(COMMON_SETTINGS),
      publisher: embedded(COMMON_SETTINGS, PUBLISHER_SESSIONS),
      reader: embedded(readSettings(cfg), cfg.CLICKHOUSE_READ_SESSIONS),
      scanner: embedded(BACKGROUND_SETTINGS),
      lookup: embedded(readSettings(cfg)),
    },
    "embedded",
  );
}

/**
 * What the embedded engine starts with that no query can set. Merges yield the CPU: a merge
 * thread runs at CLICKHOUSE_MERGE_NICE while it merges (os_threads_nice_value_merge_mutate), so on
 * a busy machine a merge of what ingest wrote waits for the next insert, detection's writes and
 * the API's reads instead of slowing them down, and takes the CPU they leave (as derivation
 * scans do through BACKGROUND_SETTINGS). A ClickHouse server has the setting in its own
 * configuration.
 */
function engineArguments(cfg: Config): string[] {
  return [`--os_threads_nice_value_merge_mutate=${cfg.CLICKHOUSE_MERGE_NICE}`];
}

function closing(sessions: Omit<Store, "mode" | "close">, mode: Store["mode"]): Store {
  const clients = [...new Set(Object.values(sessions))];
  return {
    ...sessions,
    mode,
    close: async () => {
      for (const c of clients) await c.close();
    },
  };
}

/**
 * A session of its own for a background job (webhook and SSF delivery, the OTLP consumer).
 * In embedded mode one chdb session runs one query at a time and the shared ones are busy
 * (`writer` with ingest, `detector` and `publisher` with detection, `reader` with API pages): a job whose
 * latency matters gets another session on the same data directory (sessions on one path run
 * in parallel). Server mode shares the writer's connection pool.
 */
export function openSession(s: Store, cfg: Config = config()): { client: ClickHouseClient; close: () => Promise<void> } {
  if (s.mode !== "embedded") return { client: s.writer, close: async () => {} };
  const client = embeddedClient(cfg, COMMON_SETTINGS);
  return { client, close: () => client.close() };
}

/** The publisher's reads of one cycle (states, counters, alerts) run side by side (lib/detection/publish.ts). */
const PUBLISHER_SESSIONS = 3;

function embeddedClient(cfg: Config, settings: Settings, poolSize = 1): ClickHouseClient {
  const sessions = embeddedSessions();
  if (sessions.closedForGood) throw new Error("the embedded ClickHouse engine is closed in this thread: the process is exiting");
  const connection = createSessionPool(cfg.chdbPath, poolSize);
  const client = createClient({
    // @clickhouse/client bundles its own copy of client-common, so its Connection type and
    // chdb's differ nominally while agreeing structurally: a narrow cast is needed (TS2322 otherwise).
    connection: connection as unknown as ClientConnection,
    clickhouse_settings: settings,
  });
  registerRawInsert(client, (params) => connection.chdb.rawInsert(params), settings);
  sessions.open.add(client);
  const close = client.close.bind(client);
  client.close = async () => {
    sessions.open.delete(client);
    await close();
  };
  return client;
}

/** True once this thread gave up the embedded engine for good (quiesceEmbeddedEngine): the process is exiting. */
export function embeddedEngineClosed(): boolean {
  return embeddedSessions().closedForGood;
}

/** Every embedded session this thread has open (the store's and openSession's), for quiesceEmbeddedEngine. */
const sessionsKey = Symbol.for("revenant.embeddedSessions");
type WithSessions = typeof globalThis & { [sessionsKey]?: { open: Set<ClickHouseClient>; closedForGood: boolean } };
function embeddedSessions() {
  const g = globalThis as WithSessions;
  g[sessionsKey] ??= { open: new Set(), closedForGood: false };
  return g[sessionsKey]!;
}

/**
 * Ends this thread's use of the embedded engine for good: no session opens any more, every open
 * one closes, and when this resolves no query or insert of this thread is still running inside
 * the engine. The ingest thread does this before the process exits (ingest/in-app.ts): the
 * engine is shared by the threads of the process, and a thread torn down while one of its
 * queries runs makes Node abort in that thread's teardown, which hangs the exit.
 */
export async function quiesceEmbeddedEngine(): Promise<void> {
  const sessions = embeddedSessions();
  sessions.closedForGood = true;
  quietForExit();
  delete (globalThis as WithStore)[globalKey];
  await Promise.allSettled([...sessions.open].map((client) => client.close()));
  // close() only defers a session's teardown behind the operations still running on it.
  await drainPending();
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

export { command, insertBytes, insertRows, insertSettings, queryRows, streamRows, timeBound } from "./verbs";
