/**
 * Several chdb sessions behind one @clickhouse/client connection (embedded mode).
 *
 * One chdb session runs one query at a time; sessions on the same data directory run in
 * parallel (docs/ARCHITECTURE.md, "ClickHouse access"). A client whose callers issue
 * independent queries at once, such as the API's reader (one dashboard page asks for a
 * timeline, its flags and its revocations together; several analysts read at the same time),
 * gets a pool: each call goes to the session with the fewest calls in flight.
 *
 * chdb's connection buffers every result before it resolves (chdb/connection: query, exec,
 * insert and command all await the whole result), so a session is free again as soon as its
 * call settles: no result stream outlives the call that produced it.
 *
 * Every session sends only the settings it has not applied yet (SettingsOnce), and binds query
 * parameters as its own param_<name> settings (bindParameters).
 */
import { formatQueryParams } from "@clickhouse/client-common";
import { createChdbConnection } from "chdb/connection";
import { escapeQuoted, quotedString } from "./tsv";

type ChdbConnection = ReturnType<typeof createChdbConnection>;
type Method = "query" | "exec" | "command" | "insert";
/** The settings of a call, in the type chdb/connection declares them (its own copy of client-common). */
type Settings = NonNullable<Parameters<ChdbConnection["query"]>[0]["clickhouse_settings"]>;
type QueryParams = Record<string, unknown>;

/**
 * A query parameter's text as @clickhouse/client-common's formatQueryParams writes it for the
 * HTTP interface. Strings, and arrays of strings, are escaped here with one native replace
 * instead of its loop that appends character by character: a batch's ids, a megabyte of them,
 * took ~280 ms of CPU on the calling thread (twice over: the text is then quoted the same way),
 * and ingest's first-copy lookup binds one per flush. The escapes are the same (the unit tests
 * compare the two); anything else is formatted by formatQueryParams itself.
 */
export function parameterText(value: unknown): string {
  if (typeof value === "string") return escapeQuoted(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return `[${value.map(quotedString).join(",")}]`;
  return formatQueryParams({ value });
}

/** What ClickHouse accepts after "param_" (names come from our code, never from input; checked anyway). */
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REMEMBERED_PARAMETER_LENGTH = 1024;
/** The longest statement binding a parameter (a batch of 100,000 ids is ~4 MB of text). */
const MAX_PARAMETERS_BYTES = 256 * 1024 * 1024;

/**
 * chdb's connection runs a call's clickhouse_settings as SET statements before its SQL, on
 * every call: the reader's nine (output formats, read-only, limits, log_comment) cost about
 * 1 ms a query, as much as a primary-key lookup. A SET stays in effect on its session until the
 * next SET of that name (sessions do not share them), so a setting whose value the session
 * already has is left out. Calls on one session run one after the other here, as they do in
 * the engine, so what the session has applied is known when the next call starts; after a
 * failed call or a raw insert (whose settings chdb applies its own way) nothing is assumed and
 * the next call sends every setting again.
 */
class SettingsOnce {
  private applied = new Map<string, unknown>();
  private tail: Promise<unknown> = Promise.resolve();
  private querySizeRaised = false;

  constructor(readonly session: ChdbConnection) {}

  call<T>(settings: Settings | undefined, params: QueryParams | undefined, run: (settings: Settings | undefined) => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => {
      const fresh = settings && this.unapplied(settings);
      try {
        if (params) await this.bindParameters(params);
        const result = await run(fresh);
        for (const [k, v] of Object.entries(fresh ?? {})) this.applied.set(k, v);
        return result;
      } catch (err) {
        this.applied.clear();
        throw err;
      }
    });
    this.tail = next.catch(() => {});
    return next;
  }

  /** Anything but settings: nothing of what the session has applied is assumed afterwards. */
  opaque<T>(run: () => Promise<T>): Promise<T> {
    const next = this.tail.then(() => {
      this.applied.clear();
      return run();
    });
    this.tail = next.catch(() => {});
    return next;
  }

  /**
   * Binds a call's query parameters on this session, as param_<name> settings, before its query
   * runs without them. chdb/connection sends a call with query_params through chdb's binding
   * path, which chdb-node serialises process-wide (one chain for every session, against a race
   * in its native binder): a parameterized query on one session waited for those of all the
   * others, ingest's first-copy lookups behind detection's reads, the API's pages behind both
   * (two 0.5 s queries on two sessions: 1.0 s with chdb's binding, 0.5 s bound here). The
   * values never enter the query's text: each is formatted as @clickhouse/client-common formats
   * a param_<name> for the HTTP interface (formatQueryParams), and that text is set as a string
   * literal quoted by the same function. A value the session already holds is not sent again,
   * like a setting.
   */
  private async bindParameters(params: QueryParams): Promise<void> {
    if (!this.querySizeRaised) {
      // A SET carries its value in the statement's text, which max_query_size (256 KiB by
      // default) bounds; a batch's ids run to megabytes. Raised once: SETs stay on the session.
      await this.session.command({ query: `SET max_query_size = ${MAX_PARAMETERS_BYTES}` });
      this.querySizeRaised = true;
    }
    const assignments: string[] = [];
    const bound: [string, string][] = [];
    for (const [name, value] of Object.entries(params)) {
      if (!PARAMETER_NAME.test(name)) throw new Error(`invalid query parameter name "${name}"`);
      const key = `param_${name}`;
      const text = parameterText(value);
      if (this.applied.get(key) === text) continue;
      assignments.push(`${key} = ${quotedString(text)}`);
      bound.push([key, text]);
    }
    if (assignments.length === 0) return;
    // One statement for all of them: a SET takes a list.
    await this.session.command({ query: `SET ${assignments.join(", ")}` });
    for (const [key, text] of bound) {
      // Long values (a batch's ids) are not kept to be compared: they seldom repeat.
      if (text.length <= REMEMBERED_PARAMETER_LENGTH) this.applied.set(key, text);
      else this.applied.delete(key);
    }
  }

  /** Settles when every call made so far has settled. */
  settled(): Promise<unknown> {
    return this.tail;
  }

  private unapplied(settings: Settings): Settings {
    const fresh: Settings = {};
    for (const [k, v] of Object.entries(settings) as [string, Settings[string]][]) {
      // default_format is no SET but the call's output format (chdb/connection): always sent.
      if (v !== undefined && (k === "default_format" || this.applied.get(k) !== v)) fresh[k] = v;
    }
    return fresh;
  }
}

/** One session behind SettingsOnce, with the connection interface the pool and @clickhouse/client use. */
class OneSession {
  private readonly once: SettingsOnce;

  constructor(private readonly session: ChdbConnection) {
    this.once = new SettingsOnce(session);
  }

  query = (params: Parameters<ChdbConnection["query"]>[0]) =>
    this.once.call(params.clickhouse_settings, params.query_params, (s) => this.session.query({ ...params, query_params: undefined, clickhouse_settings: s }));
  exec = (params: Parameters<ChdbConnection["exec"]>[0]) =>
    this.once.call(params.clickhouse_settings, params.query_params, (s) => this.session.exec({ ...params, query_params: undefined, clickhouse_settings: s }));
  command = (params: Parameters<ChdbConnection["command"]>[0]) =>
    this.once.call(params.clickhouse_settings, params.query_params, (s) => this.session.command({ ...params, query_params: undefined, clickhouse_settings: s }));
  insert = (params: Parameters<ChdbConnection["insert"]>[0]) => this.once.call(params.clickhouse_settings, undefined, (s) => this.session.insert({ ...params, clickhouse_settings: s }));
  ping = (params: Parameters<ChdbConnection["ping"]>[0]) => this.session.ping(params);
  readonly chdb = {
    rawInsert: (params: Parameters<ChdbConnection["chdb"]["rawInsert"]>[0]) => this.once.opaque(() => this.session.chdb.rawInsert(params)),
  };

  /** Closes once the calls made so far have run, as chdb's close defers behind the calls it was given. */
  async close(): Promise<void> {
    await this.once.settled();
    await this.session.close();
  }
}

class SessionPool {
  private readonly inFlight: number[];

  constructor(private readonly sessions: ChdbConnection[]) {
    this.inFlight = sessions.map(() => 0);
  }

  query = (params: Parameters<ChdbConnection["query"]>[0]) => this.dispatch("query", params);
  exec = (params: Parameters<ChdbConnection["exec"]>[0]) => this.dispatch("exec", params);
  command = (params: Parameters<ChdbConnection["command"]>[0]) => this.dispatch("command", params);
  insert = (params: Parameters<ChdbConnection["insert"]>[0]) => this.dispatch("insert", params);
  ping = (params: Parameters<ChdbConnection["ping"]>[0]) => this.sessions[0].ping(params);
  /** chdb's own raw insert (lib/store/verbs.ts, insertBytes), on the least busy session too. */
  readonly chdb = {
    rawInsert: (params: Parameters<ChdbConnection["chdb"]["rawInsert"]>[0]) => this.run((s) => s.chdb.rawInsert(params)),
  };

  async close(): Promise<void> {
    for (const s of this.sessions) await s.close();
  }

  private dispatch<M extends Method>(method: M, params: Parameters<ChdbConnection[M]>[0]): Promise<Awaited<ReturnType<ChdbConnection[M]>>> {
    return this.run((session) => (session as unknown as Record<M, (p: typeof params) => Promise<Awaited<ReturnType<ChdbConnection[M]>>>>)[method](params));
  }

  /** Runs one call on the session with the fewest calls in flight. */
  private async run<T>(call: (session: ChdbConnection) => Promise<T>): Promise<T> {
    let i = 0;
    for (let j = 1; j < this.sessions.length; j++) if (this.inFlight[j] < this.inFlight[i]) i = j;
    this.inFlight[i]++;
    try {
      return await call(this.sessions[i]);
    } finally {
      this.inFlight[i]--;
    }
  }
}

/** A connection over `size` sessions on the data directory at `path` (one session when size is 1). */
export function createSessionPool(path: string, size: number): ChdbConnection {
  const sessions = Array.from({ length: Math.max(1, size) }, () => new OneSession(createChdbConnection({ path })) as unknown as ChdbConnection);
  return sessions.length === 1 ? sessions[0] : (new SessionPool(sessions) as unknown as ChdbConnection);
}
