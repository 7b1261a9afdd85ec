/**
 * npm run bench:timeline — where an agent timeline's time goes, on a store bench:scale kept
 * (BENCH_KEEP_DATA=1), without running bench:scale again: opens it the way the app does
 * (lib/store/clickhouse.ts, the read-only reader pool), checks that agentTimeline answers as
 * the reference does for 100 agents, then times agentTimeline against the reference (the
 * timeline's queries as of commit a5b14db), interleaved, and each of the queries
 * it is made of on its own, and prints p50/p95 of each. Nothing is written to the store.
 *
 *   REVENANT_DATA_DIR=<dir printed by bench:scale> BENCH_EVENTS=<same as the kept run> npm run bench:timeline
 *
 * BENCH_PROBE_RUNS (default 200) timelines are read per figure, rotating over the leaking
 * revoked agents as bench/scale-reads.ts does (BENCH_EVENTS and BENCH_SEED pick the same ones);
 * BENCH_PROBE_PARTS=0 skips the per-query figures. Only one process may open the store.
 */
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { loadavg } from "node:os";
import { config } from "@/lib/config";
import { agentTimeline } from "@/lib/queries/agents";
import { agentContext } from "@/lib/queries/agent-context";
import { REVOCATION_COLUMNS, revocationIdsOfAgent, timelineRevocations } from "@/lib/queries/revocations";
import { closeStore, queryRows, readSettings, SMALL_READS, store } from "@/lib/store/clickhouse";
import { agentId, plan, sizesFromEnv } from "./scale-data";
import { percentile } from "./scale-util";

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>["connection"]>;

const RUNS = Number(process.env.BENCH_PROBE_RUNS ?? 200);

const EVENT_COLUMNS = `event_id, type, time, agent_id, pipeline_id, session_id, credential_id, layer, source, action, resource, decision,
  sensitivity, trace_id, span_id, rev_scope, rev_subject, rev_reason, rev_cascade, rev_initiated_by, cred_id, cred_kind,
  cred_parent_id, cred_expires_at, attributes`;

/** The columns agentTimeline reads (lib/queries/agents.ts): all but rev_initiated_by and cred_expires_at. */
const PAGE_COLUMNS = EVENT_COLUMNS.replace(" rev_initiated_by,", "").replace(" cred_expires_at,", "");

/**
 * The reference: the timeline as of commit a5b14db, on a plain chdb session as the reader had
 * then (every call sends all of the reader's settings again): the page, then flags (revocation
 * ids from the counters in a subquery), every column of the agent's revocation summaries (ids
 * from counters and coverage in a subquery) and the context side by side. First page only, no
 * range: what bench:scale reads. (One session where the reader has a pool of three: the
 * engine runs small queries of sessions on one data directory little faster side by side than
 * one after the other, measured here within 1 ms.)
 */
async function timelineBefore(client: ClickHouseClient, a: string, limit: number) {
  const rows = await queryRows<{ event_id: string; time: string }>(
    client,
    "probe:before",
    `SELECT ${EVENT_COLUMNS} FROM events WHERE agent_id = {a:String} ORDER BY time DESC, event_id DESC LIMIT 1 BY event_id LIMIT {limit:UInt32}`,
    { a, limit: limit + 1 },
  );
  const items = rows.slice(0, limit);
  const ids = items.map((e) => e.event_id);
  return Promise.all([
    queryRows(
      client,
      "probe:before:flags",
      `SELECT event_id, revocation_id, violation, via FROM post_revocation_actions FINAL
       WHERE revocation_id IN (SELECT DISTINCT revocation_id FROM revocation_counters WHERE agent_id = {a:String})
         AND agent_id = {a:String} AND event_id IN {ids:Array(String)}`,
      { a, ids },
    ),
    queryRows(
      client,
      "probe:before:revocations",
      `SELECT ${REVOCATION_COLUMNS} FROM revocation_status FINAL
       WHERE event_id IN (
               SELECT revocation_id FROM revocation_counters WHERE agent_id = {a:String}
               UNION DISTINCT
               SELECT revocation_id FROM coverage WHERE key_kind = 'agent' AND key = {a:String})
         AND (has(agents, {a:String}) OR (scope = 'agent' AND subject = {a:String}))
       ORDER BY time DESC, event_id DESC`,
      { a },
    ),
    agentContext(client, a, { from: rows.length > limit ? items.at(-1)!.time : undefined }, 1000),
  ]);
}

type Step = (agent: string) => Promise<unknown>;

/** Times the steps interleaved (one run of each in turn, over the same agents), so that they share the machine's load. */
async function measure(steps: Record<string, Step>, agents: string[]): Promise<Map<string, { p50: number; p95: number }>> {
  const names = Object.keys(steps);
  const ms = new Map(names.map((n) => [n, [] as number[]]));
  for (let i = 0; i < Math.min(20, agents.length); i++) for (const n of names) await steps[n](agents[i]); // warm-up
  for (let i = 0; i < RUNS; i++) {
    for (const n of names) {
      const t0 = performance.now();
      await steps[n](agents[i % agents.length]);
      ms.get(n)!.push(performance.now() - t0);
    }
  }
  const figures = new Map<string, { p50: number; p95: number }>();
  for (const n of names) {
    const xs = ms.get(n)!;
    figures.set(n, { p50: percentile(xs, 50), p95: percentile(xs, 95) });
    console.log(`${n.padEnd(52)} p50 ${percentile(xs, 50).toFixed(1).padStart(6)} ms   p95 ${percentile(xs, 95).toFixed(1).padStart(6)} ms`);
  }
  return figures;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

async function run() {
  if (!process.env.REVENANT_DATA_DIR) throw new Error("REVENANT_DATA_DIR: the data directory bench:scale kept (BENCH_KEEP_DATA=1)");
  process.env.LOG_LEVEL ??= "warn";
  const p = plan(sizesFromEnv());
  const leaking = p.revocations.filter((v) => v.leakLayer !== null || v.childIssuedAt !== null);
  const agents = Array.from({ length: leaking.length }, (_, i) => agentId(leaking[(i * 37) % leaking.length].agent, p.sizes.pipelines));
  const reader = store().reader;
  const cfg = config();
  // @clickhouse/client bundles its own client-common: a narrow cast, as lib/store/clickhouse.ts does.
  const plain = createClient({ connection: createChdbConnection({ path: cfg.chdbPath }) as unknown as ClientConnection, clickhouse_settings: readSettings(cfg) });

  const [{ n }] = await queryRows<{ n: number }>(reader, "probe", "SELECT count() AS n FROM events");
  const perAgent = await queryRows<{ n: number }>(reader, "probe", "SELECT count() AS n FROM events WHERE agent_id IN {a:Array(String)} GROUP BY agent_id", { a: agents.slice(0, 100) });
  const [{ parts }] = await queryRows<{ parts: number }>(reader, "probe", "SELECT count() AS parts FROM system.parts WHERE database = currentDatabase() AND table = 'events' AND active");
  console.log(`${n} events in ${parts} parts; the probed agents have ${percentile(perAgent.map((r) => r.n), 50)} events (median), ${Math.max(...perAgent.map((r) => r.n))} at most`);

  // The same answer, agent by agent, before the figures.
  let flagged = 0;
  for (const a of agents.slice(0, 100)) {
    const [now, [flags, revocations, context]] = await Promise.all([agentTimeline(reader, a, {}, undefined, 500), timelineBefore(plain, a, 500)]);
    flagged += now.items.filter((e) => e.post_revocation.length).length;
    const pairs = now.items.flatMap((e) => e.post_revocation.map((f) => `${e.event_id}/${f.revocation_id}/${f.violation}/${f.via}`)).sort();
    const pairsBefore = (flags as { event_id: string; revocation_id: string; violation: boolean; via: string }[]).map((f) => `${f.event_id}/${f.revocation_id}/${f.violation}/${f.via}`).sort();
    const revs = (revocations as Record<string, unknown>[]).map((r) => JSON.stringify([r.event_id, r.time, r.scope, r.subject, r.reinstated_at, r.containment]));
    if (JSON.stringify(pairs) !== JSON.stringify(pairsBefore) || JSON.stringify(now.revocations.map((r) => JSON.stringify([r.event_id, r.time, r.scope, r.subject, r.reinstated_at, r.containment]))) !== JSON.stringify(revs) || JSON.stringify(now.context) !== JSON.stringify(context.spans)) {
      throw new Error(`agent ${a}: the timeline differs from the reference`);
    }
  }
  console.log(`the first 100 agents' timelines match the reference (${flagged} flagged events)`);

  console.log(`load average before: ${load()}`);
  const main = await measure(
    {
      reference: (a) => timelineBefore(plain, a, 500),
      agentTimeline: (a) => agentTimeline(reader, a, {}, undefined, 500),
    },
    agents,
  );
  const [ref, now] = [main.get("reference")!, main.get("agentTimeline")!];
  console.log(`agentTimeline / reference (the timeline as of a5b14db): p50 ${(now.p50 / ref.p50).toFixed(2)}, p95 ${(now.p95 / ref.p95).toFixed(2)}`);
  console.log(`load average after: ${load()}`);
  await plain.close();
  if (process.env.BENCH_PROBE_PARTS === "0") return closeStore();
  const pageIds = new Map<string, string[]>();
  const revIds = new Map<string, string[]>();
  for (const a of agents.slice(0, RUNS)) {
    pageIds.set(a, (await queryRows<{ event_id: string }>(reader, "probe", `SELECT event_id FROM events WHERE agent_id = {a:String} ORDER BY time DESC, event_id DESC LIMIT 500`, { a })).map((r) => r.event_id));
    revIds.set(a, await revocationIdsOfAgent(reader, a));
  }
  const few = agents.slice(0, RUNS);
  await measure(
    {
      "  page of events (23 columns)": (a) =>
        queryRows(reader, "probe:events", `SELECT ${PAGE_COLUMNS} FROM events WHERE agent_id = {a:String} ORDER BY time DESC, event_id DESC LIMIT 1 BY event_id LIMIT 501 ${SMALL_READS}`, { a }),
      "  revocation ids (counters and coverage)": (a) => revocationIdsOfAgent(reader, a),
      "  flags by revocation ids": (a) =>
        queryRows(
          reader,
          "probe:flags",
          `SELECT event_id, revocation_id, violation, via FROM post_revocation_actions FINAL
           WHERE revocation_id IN {revs:Array(String)} AND agent_id = {a:String} AND event_id IN {ids:Array(String)} ${SMALL_READS}`,
          { a, revs: revIds.get(a)!, ids: pageIds.get(a)! },
        ),
      "  revocations by ids (6 columns)": (a) => timelineRevocations(reader, a, revIds.get(a)!),
      "  context": (a) => agentContext(reader, a, {}, 1000),
      "  SELECT 1 (a round trip)": () => queryRows(reader, "probe:one", "SELECT 1"),
    },
    few,
  );
  await closeStore();
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
