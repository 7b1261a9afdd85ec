/**
 * Where bench:scale's worker spends its ClickHouse time: wraps the store's clients in this
 * process (benchmark instrumentation only) and sums the wall time of each call by its
 * log_comment, or by the table or the start of the SQL when it has none.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { rawInsertOf } from "@/lib/store/verbs";

interface Entry {
  calls: number;
  ms: number;
  maxMs: number;
}

const METHODS = ["query", "command", "insert", "exec"] as const;

export class CallProfile {
  private entries = new Map<string, Entry>();

  wrap(session: string, client: ClickHouseClient): void {
    const c = client as unknown as Record<string, (p: Record<string, unknown>) => Promise<unknown>>;
    for (const m of METHODS) {
      const original = c[m].bind(client);
      c[m] = async (p: Record<string, unknown>) => {
        const t0 = performance.now();
        try {
          return await original(p);
        } finally {
          this.add(`${session} ${label(m, p)}`, performance.now() - t0);
        }
      };
    }
    // Inserts of bytes on chdb sessions (lib/store/verbs.ts, insertBytes) bypass the client's methods.
    const raw = rawInsertOf(client);
    if (raw) {
      const original = raw.rawInsert;
      raw.rawInsert = async (p) => {
        const t0 = performance.now();
        try {
          return await original(p);
        } finally {
          this.add(`${session} ${label("insert", { table: p.table, clickhouse_settings: p.settings })}`, performance.now() - t0);
        }
      };
    }
  }

  reset(): void {
    this.entries = new Map();
  }

  private add(key: string, ms: number): void {
    const e = this.entries.get(key) ?? { calls: 0, ms: 0, maxMs: 0 };
    e.calls++;
    e.ms += ms;
    e.maxMs = Math.max(e.maxMs, ms);
    this.entries.set(key, e);
  }

  /** The `n` entries with the most time, as lines. */
  top(n: number): string[] {
    return [...this.entries]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, n)
      .map(([k, e]) => `${(e.ms / 1000).toFixed(1).padStart(7)} s  ${String(e.calls).padStart(6)} calls  max ${e.maxMs.toFixed(0).padStart(5)} ms  ${k}`);
  }
}

function label(method: string, p: Record<string, unknown>): string {
  const settings = p.clickhouse_settings as Record<string, unknown> | undefined;
  if (settings?.log_comment) return String(settings.log_comment);
  if (method === "insert") return `insert ${String(p.table)}`;
  return String(p.query ?? "").replace(/\s+/g, " ").trim().slice(0, 70);
}
