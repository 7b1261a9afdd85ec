/**
 * npm run bench:reads — API read latency on a store of incident size, without Kafka.
 *
 * Builds a synthetic store inside the engine (INSERT … SELECT): BENCH_EVENTS actions
 * (default 1,000,000) of BENCH_AGENTS agents (20,000) in 2,000 pipelines over 7 days, and
 * BENCH_REVOCATIONS revocation summaries (3,000; a fifth reinstated) with ~100
 * post-revocation actions and one alert each, written straight into the detection tables.
 * Then prints p50/p95 of the reads in bench/reads.ts, through the API's read-only reader,
 * and, as the reference measured in the same run, the agents and pipelines lists computed
 * the way they were before (every summary and every revocation loaded and compared in the
 * process).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { resetConfig } from "@/lib/config";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { allRevocations, worstContainment } from "@/lib/queries/revocations";
import { fmt } from "./common";
import { measureReads, timeRuns } from "./reads";
import { seedReadStore } from "./reads-seed";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 20_000);
const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 3_000);

const PAIRS_PER_REVOCATION = 100;

/** The agents list as it was computed before: everything loaded, compared and sorted in the process. */
async function inProcessAgents(client: ClickHouseClient) {
  const [summaries, revocations, violations] = await Promise.all([
    queryRows<{ agent_id: string; last_seen: string; pipelines: string[] }>(client, "bench:legacy:agents",
      `SELECT agent_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(event_count) AS event_count,
              arraySort(groupUniqArrayArray(pipelines)) AS pipelines, arraySort(groupUniqArrayArray(layers)) AS layers, uniqMerge(sessions) AS session_count
       FROM agent_summary GROUP BY agent_id`),
    allRevocations(client),
    queryRows<{ agent_id: string; n: number }>(client, "bench:legacy:violations", "SELECT agent_id, count() AS n FROM post_revocation_actions FINAL WHERE violation GROUP BY agent_id"),
  ]);
  const v = new Map(violations.map((r) => [r.agent_id, r.n]));
  const items = summaries.map((a) => {
    const names = (r: (typeof revocations)[number]) => (r.scope === "agent" && r.subject === a.agent_id) || (r.scope === "pipeline" && a.pipelines.includes(r.subject));
    const touching = revocations.filter((r) => r.agents.includes(a.agent_id) || names(r));
    return {
      ...a, revoked: touching.some((r) => r.reinstated_at === null && names(r)), violation_count: v.get(a.agent_id) ?? 0,
      containment: worstContainment(touching.filter((r) => r.agents.includes(a.agent_id)).map((r) => r.containment)), revocation_ids: touching.map((r) => r.event_id),
    };
  });
  items.sort((a, b) => (a.last_seen === b.last_seen ? (a.agent_id < b.agent_id ? 1 : -1) : a.last_seen < b.last_seen ? 1 : -1));
  return items.slice(0, 100);
}

async function main() {
  // No Kafka here: a fresh data directory is all the store needs.
  process.env.REVENANT_DATA_DIR = mkdtempSync(path.join(os.tmpdir(), "revenant-bench-reads-"));
  process.env.LOG_LEVEL ??= "warn";
  resetConfig();
  const s = store();
  await migrate(s.writer);
  const t0 = performance.now();
  await seedReadStore(s.writer, { events: EVENTS, agents: AGENTS, revocations: REVOCATIONS, pairsPerRevocation: PAIRS_PER_REVOCATION });
  const [{ events, revocations }] = await queryRows<{ events: number; revocations: number }>(s.reader, "bench",
    "SELECT (SELECT count() FROM events) AS events, (SELECT count() FROM revocation_status) AS revocations");
  console.log(`store: ${fmt(events)} events, ${fmt(AGENTS)} agents, ${fmt(revocations)} revocations, ${fmt(revocations * PAIRS_PER_REVOCATION)} post-revocation actions (built in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const figures = await measureReads(s.reader, { iterations: Number(process.env.BENCH_ITERATIONS ?? 30) });
  const reference = await timeRuns(() => inProcessAgents(s.reader), 5);
  console.log("\nread                                        p50 ms   p95 ms");
  for (const f of figures) console.log(`${f.name.padEnd(42)} ${f.p50.toFixed(1).padStart(8)} ${f.p95.toFixed(1).padStart(8)}`);
  console.log(`${"reference: agents list computed in-process".padEnd(42)} ${reference.p50.toFixed(1).padStart(8)} ${reference.p95.toFixed(1).padStart(8)}`);
  const agents = figures.find((f) => f.name === "agents list")!;
  console.log(`\nagents list p50, in ClickHouse vs in-process: ${(agents.p50 / reference.p50).toFixed(2)}× (lower is better)`);
  await closeStore();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
