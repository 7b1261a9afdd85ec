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
 */
import { createChdbConnection } from "chdb/connection";

type ChdbConnection = ReturnType<typeof createChdbConnection>;
type Method = "query" | "exec" | "command" | "insert";

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
  const sessions = Array.from({ length: Math.max(1, size) }, () => createChdbConnection({ path }));
  return sessions.length === 1 ? sessions[0] : (new SessionPool(sessions) as unknown as ChdbConnection);
}
