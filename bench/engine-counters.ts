/**
 * The embedded engine's own counts of the work it did (system.events, the process-wide
 * ProfileEvents of the one engine a bench:scale worker runs), read before and after a phase.
 *
 * Counts of queries, rows and merges barely move with the host: the same week gives the same
 * counts within a few percent, where a phase's CPU seconds spread by ±10% or more on a shared
 * 2-core machine. Compared between variants (bench/scale-ab.ts), they say what extra work a
 * variant does, even when its seconds cannot tell it from the host. (The engine keeps no
 * system.query_log here, so the counts are per process, not per query.)
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows } from "@/lib/store/clickhouse";
import { fmt } from "./common";

/** The counters compared, and how each is printed. */
const COUNTERS = {
  // As the engine counts them: a call's settings (the chdb connection sends them as statements
  // before the query) count apart, about two per call.
  Query: "queries",
  SelectedRows: "rows selected",
  InsertedRows: "rows inserted",
  MergedRows: "rows merged",
  Merge: "merges",
  OSCPUVirtualTimeMicroseconds: "query CPU",
} as const;

type Counter = keyof typeof COUNTERS;
export type EngineCounters = Record<Counter, number>;

export async function readEngineCounters(client: ClickHouseClient): Promise<EngineCounters> {
  const rows = await queryRows<{ event: string; value: string | number }>(client, "bench:counters", "SELECT event, value FROM system.events WHERE event IN {events:Array(String)}", {
    events: Object.keys(COUNTERS),
  });
  const byName = new Map(rows.map((r) => [r.event, Number(r.value)]));
  return Object.fromEntries(Object.keys(COUNTERS).map((k) => [k, byName.get(k) ?? 0])) as EngineCounters;
}

export function countersDelta(before: EngineCounters, after: EngineCounters): EngineCounters {
  return Object.fromEntries(Object.keys(COUNTERS).map((k) => [k, after[k as Counter] - before[k as Counter]])) as EngineCounters;
}

export function meanCounters(runs: EngineCounters[]): EngineCounters {
  return Object.fromEntries(Object.keys(COUNTERS).map((k) => [k, runs.reduce((s, r) => s + r[k as Counter], 0) / runs.length])) as EngineCounters;
}

const show = (counter: Counter, v: number) =>
  counter === "OSCPUVirtualTimeMicroseconds" ? `${(v / 1e6).toFixed(1)} s` : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : fmt(v);

/** "queries 1,230 (×2.75), rows selected 25.10M (×1.39), …"; ratios against `reference` when given. */
export function describeCounters(c: EngineCounters, reference?: EngineCounters): string {
  return (Object.keys(COUNTERS) as Counter[])
    .map((k) => `${COUNTERS[k]} ${show(k, c[k])}${reference && reference[k] > 0 ? ` (×${(c[k] / reference[k]).toFixed(2)})` : ""}`)
    .join(", ");
}
