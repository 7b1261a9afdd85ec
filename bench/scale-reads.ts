/**
 * bench:scale's reads at size: the query functions the API routes call, on the API's reader
 * session, with the routes' default page sizes. Timelines and post-revocation lists rotate
 * over different revoked agents and revocations, so that no run merely repeats the last.
 */
import { agentTimeline, listAgents } from "@/lib/queries/agents";
import { listAlerts } from "@/lib/queries/alerts";
import { listPairs } from "@/lib/queries/post-revocation";
import { queryRows, store } from "@/lib/store/clickhouse";
import { agentId, type Plan } from "./scale-data";
import { percentile, progress } from "./scale-util";

/** 100 reads per figure: with 30, "p95" was the second-slowest read, as noisy as the maximum. */
const RUNS = Number(process.env.BENCH_READ_RUNS ?? 100);
/** A read slower than this budget gets fewer runs (at least 5), so that one slow list cannot hold the run up for minutes. */
const BUDGET_MS = 60_000;

export interface ReadFigures {
  p50: number;
  p95: number;
  rows: number;
  runs: number;
}

async function timed(name: string, run: (i: number) => Promise<number>): Promise<ReadFigures> {
  const w0 = performance.now();
  await run(RUNS); // warm-up, not counted
  const runs = Math.max(5, Math.min(RUNS, Math.floor(BUDGET_MS / (performance.now() - w0))));
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    rows = await run(i);
    ms.push(performance.now() - t0);
  }
  const r = { p50: percentile(ms, 50), p95: percentile(ms, 95), rows, runs };
  progress(`reads: ${name} p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms over ${runs} runs (${rows} items on the last page)`);
  return r;
}

/** The events table's active parts and running merges: a timeline reads a granule or two of every part. */
async function eventsParts(): Promise<{ parts: number; merges: number }> {
  const [row] = await queryRows<{ parts: number; merges: number }>(
    store().reader,
    "bench:parts",
    `SELECT (SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'events' AND active) AS parts,
            (SELECT count() FROM system.merges WHERE database = currentDatabase() AND table = 'events') AS merges`,
  );
  return { parts: Number(row.parts), merges: Number(row.merges) };
}

export async function reads(p: Plan) {
  const reader = store().reader;
  const before = await eventsParts();
  progress(`reads: the events table has ${before.parts} active parts, ${before.merges} merges running`);
  // Revocations that leak: the agents and revocations an analyst opens first.
  const leaking = p.revocations.filter((v) => v.leakLayer !== null || v.childIssuedAt !== null);
  const pick = (i: number) => leaking[(i * 37) % leaking.length];
  return {
    timeline: await timed("agent timeline", async (i) => (await agentTimeline(reader, agentId(pick(i).agent, p.sizes.pipelines), {}, undefined, 500)).items.length),
    postRevocation: await timed("post-revocation actions of one revocation", async (i) => (await listPairs(reader, { revocation_id: pick(i).id }, undefined, 100)).items.length),
    alerts: await timed("alerts list", async () => (await listAlerts(reader, {}, undefined, 100)).items.length),
    agents: await timed("agents list", async () => (await listAgents(reader, { sort: "last_seen" }, undefined, 100)).items.length),
  };
}
