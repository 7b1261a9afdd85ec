/**
 * Read latency of the API's heaviest pages, through the same lib/queries functions the
 * routes call, with each route's default page size. Importable (bench:scale calls
 * measureReads on the store it built); `npm run bench:reads` runs it on a synthetic store
 * (bench/reads-run.ts).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows } from "@/lib/store/clickhouse";
import { agentTimeline, listAgents } from "@/lib/queries/agents";
import { listAlerts } from "@/lib/queries/alerts";
import { listPipelines } from "@/lib/queries/pipelines";
import { listPairs } from "@/lib/queries/post-revocation";

export interface ReadFigure {
  name: string;
  p50: number;
  p95: number;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Runs `run` twice to warm caches, then `iterations` times one after another; milliseconds. */
export async function timeRuns(run: () => Promise<unknown>, iterations: number): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < 2; i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return { p50: percentile(ms, 50), p95: percentile(ms, 95) };
}

/**
 * p50/p95 (ms) of: the busiest agent's timeline, the post-revocation actions of the
 * revocation with the most of them, and the first page of the alerts, agents and pipelines
 * lists. Pass the API's reader so that its limits apply as they do in production.
 */
export async function measureReads(client: ClickHouseClient, opts: { iterations?: number } = {}): Promise<ReadFigure[]> {
  const iterations = opts.iterations ?? 30;
  const [busiest] = await queryRows<{ agent_id: string }>(
    client, "bench:reads:agent", "SELECT agent_id FROM agent_summary GROUP BY agent_id ORDER BY sum(event_count) DESC, agent_id LIMIT 1",
  );
  const [revocation] = await queryRows<{ event_id: string }>(
    client, "bench:reads:revocation", "SELECT event_id FROM revocation_status FINAL ORDER BY violation_count + blocked_count DESC, event_id LIMIT 1",
  );
  const reads: [string, () => Promise<unknown>][] = [
    ["agent timeline", () => agentTimeline(client, busiest?.agent_id ?? "", {}, undefined, 500)],
    ["post-revocation actions of one revocation", () => listPairs(client, { revocation_id: revocation?.event_id ?? "" }, undefined, 100)],
    ["alerts list", () => listAlerts(client, {}, undefined, 100)],
    ["agents list", () => listAgents(client, { sort: "last_seen" }, undefined, 100)],
    ["pipelines list", () => listPipelines(client, undefined, undefined, 100)],
  ];
  const figures: ReadFigure[] = [];
  for (const [name, run] of reads) figures.push({ name, ...(await timeRuns(run, iterations)) });
  return figures;
}
