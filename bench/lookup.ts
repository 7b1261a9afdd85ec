/**
 * npm run bench:lookup — the credential status lookup under load, at the server.
 *
 * The worker (consumer, detection, the covered-credentials feed, the background jobs) runs in
 * this process as `next start` runs it in embedded mode: in its own thread, started by
 * ingest/in-app.ts (BENCH_LOOKUP_INGEST=main runs it on the main thread instead, the
 * arrangement before the thread, for comparison), while a second process produces steady
 * background traffic (BENCH_RATE, default 5,000 events/s) and this one produces a new
 * revocation every second, so coverage and the feed keep changing. 1,000 credentials are
 * covered, 1,000 are not. GET /api/v1/credentials/{id}/status (the real route handler, with a
 * real enforcer API key) is called open-loop at BENCH_LOOKUP_RATE (default 2,000/s) for
 * BENCH_SECONDS (default 20); each call is timed from the handler's start to the end of its
 * body. Reference in the same run: the same lookup as a primary-key read of the coverage
 * table (the path used until the in-memory copy of the feed has caught up), sequentially.
 * A second reference: the same 2,000 lookups/s for 5 s before the background load starts. The
 * main thread's event loop delay during the measurement is printed too: whatever runs on that
 * loop besides the lookups (ingest, when it runs there) and CPU starvation on a shared machine
 * show up in the lookup's tail.
 * Prints p50/p95/p99/max and the ratios. Target: p99 ≤ 10 ms at 2,000 lookups/s.
 */
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { spawn } from "node:child_process";
import { Partitioners } from "kafkajs";
import { ApiKeyStore } from "@/lib/auth/keys";
import { config } from "@/lib/config";
import { mirrorReady, stopMirror } from "@/lib/feed/lookup";
import { credentialStatuses } from "@/lib/feed/status";
import { createKafka, ensureTopics } from "@/lib/kafka";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { startWorkerInApp } from "@/ingest/in-app";
import { workerJobs } from "@/ingest/jobs";
import { startWorker } from "@/ingest/worker";
import * as statusRoute from "@/app/api/v1/credentials/[id]/status/route";
import { benchEnvironment, fmt } from "./common";

const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const LOOKUP_RATE = Number(process.env.BENCH_LOOKUP_RATE ?? 2_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const AGENTS = 100;
const PER_AGENT = 10;
const INGEST_ON_MAIN = process.env.BENCH_LOOKUP_INGEST === "main";

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const summary = (xs: number[]) =>
  `p50 ${percentile(xs, 50).toFixed(2)} ms, p95 ${percentile(xs, 95).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(1)} ms (${fmt(xs.length)} lookups)`;

async function main() {
  await benchEnvironment("lookup", { INGEST_FLUSH_MS: "50" });
  const cfg = config();
  const kafka = createKafka(cfg, "-bench");
  await ensureTopics(kafka, cfg);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const worker = INGEST_ON_MAIN ? await startWorker({ jobs: workerJobs() }) : await (await startWorkerInApp())!.started;
  const key = (await new ApiKeyStore(store().reader, store().writer).create({ name: "bench gateway", role: "enforcer", createdBy: "bench" })).key;

  // 100 agents with 10 credentials each, all revoked; 1,000 more credentials nobody revokes.
  const base = Date.now() - 3_600_000;
  const issued = [];
  for (let a = 0; a < AGENTS * 2; a++)
    for (let c = 0; c < PER_AGENT; c++)
      issued.push({ event_id: `iss-${a}-${c}`, type: "credential_issued", time: new Date(base + a).toISOString(), agent_id: `agent-${a}`, credential: { id: `tok-${a}-${c}` } });
  const send = (events: object[]) => producer.send({ topic: cfg.KAFKA_TOPIC, messages: events.map((e) => ({ value: JSON.stringify(e) })) });
  await send(issued);
  const revoke = (a: number, t: number) => ({ event_id: `rev-${a}-${t}`, type: "revocation", time: new Date(t).toISOString(), revocation: { scope: "agent", subject: `agent-${a}` } });
  await send(Array.from({ length: AGENTS }, (_, a) => revoke(a, base + 60_000)));
  for (const deadline = Date.now() + 120_000; ; ) {
    const rows = await queryRows<{ n: number }>(store().reader, "bench", "SELECT uniqExact(key) AS n FROM coverage FINAL WHERE key_kind = 'credential' AND reinstated_at IS NULL");
    if (Number(rows[0].n) >= AGENTS * PER_AGENT) break;
    if (Date.now() > deadline) throw new Error(`coverage incomplete: ${rows[0].n}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const ids = issued.map((e) => e.credential.id);
  if (!(await mirrorReady(60_000))) throw new Error("the feed mirror did not catch up");
  const idle = await measure(ids, key, 5);

  const load = spawn(process.execPath, ["--import", "tsx", "bench/background-load.ts"], {
    env: { ...process.env, RATE: String(RATE), SECONDS: String(SECONDS + 15) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let loadReport = "";
  load.stdout!.on("data", (d) => (loadReport += d));
  await new Promise((r) => setTimeout(r, 3_000)); // let the background load reach its rate
  const storedBefore = Number((await queryRows<{ n: number }>(store().reader, "bench", "SELECT count() AS n FROM events"))[0].n);

  // Reference: the coverage read, one at a time, while ingest runs.
  const reference: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    await credentialStatuses(store().lookup, [ids[(i * 7919) % ids.length]], "bench:lookup");
    reference.push(performance.now() - t0);
  }

  // A new revocation every second: the feed and the mirror change during the measurement.
  let extra = AGENTS * 2;
  const churn = setInterval(() => {
    const a = extra++;
    void send([
      ...Array.from({ length: PER_AGENT }, (_, c) => ({ event_id: `iss-${a}-${c}`, type: "credential_issued", time: new Date().toISOString(), agent_id: `agent-${a}`, credential: { id: `tok-${a}-${c}` } })),
      revoke(a, Date.now() + 1),
    ]);
  }, 1_000);

  const loop = monitorEventLoopDelay({ resolution: 5 });
  const pauses: PerformanceEntry[] = [];
  const gc = new PerformanceObserver((list) => pauses.push(...list.getEntries()));
  loop.enable();
  gc.observe({ entryTypes: ["gc"] });
  const run = await measure(ids, key, SECONDS);
  gc.disconnect();
  loop.disable();
  clearInterval(churn);
  const { latencies, sources, errors, elapsed } = run;
  const storedAfter = Number((await queryRows<{ n: number }>(store().reader, "bench", "SELECT count() AS n FROM events"))[0].n);
  await new Promise((r) => load.once("exit", r));

  console.log(`\nbench:lookup — ingest ${INGEST_ON_MAIN ? "on the main thread (BENCH_LOOKUP_INGEST=main)" : "in its own thread (ingest/in-app.ts, as in next start)"}`);
  console.log(`${fmt(latencies.length)} lookups in ${elapsed.toFixed(1)} s (${fmt(latencies.length / elapsed)}/s, target ${fmt(LOOKUP_RATE)}/s), ${errors} errors, sources ${JSON.stringify(Object.fromEntries(sources))}`);
  console.log(`ingest meanwhile: ${fmt((storedAfter - storedBefore) / elapsed)} events/s stored (background load ${loadReport.trim() || "running"}, target ${fmt(RATE)}/s), a new revocation every second`);
  console.log(`main thread's event loop delay meanwhile: p50 ${(loop.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(0)} ms`);
  console.log(`main thread's garbage collection meanwhile: ${gcSummary(pauses)}`);
  console.log(`GET /api/v1/credentials/{id}/status at the server, ingest running: ${summary(latencies)}`);
  console.log(`reference, the same lookups before the load started:             ${summary(idle.latencies)}`);
  console.log(`reference, primary-key read of coverage, one at a time:         ${summary(reference)}`);
  console.log(`ratios: p99 under ingest / p99 idle ${(percentile(latencies, 99) / percentile(idle.latencies, 99)).toFixed(1)}, lookup p99 / coverage read p99 ${(percentile(latencies, 99) / percentile(reference, 99)).toFixed(2)}; target: lookup p99 ≤ 10 ms`);
  console.log(`machine load average: ${(await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  await stopMirror();
  await worker.stop();
  await producer.disconnect();
  await closeStore();
  process.exit(0);
}

/** Pauses of the main thread's garbage collector by kind: the other source of a lookup's tail besides the event loop's work. */
function gcSummary(pauses: PerformanceEntry[]): string {
  const kinds = [
    ["scavenges", constants.NODE_PERFORMANCE_GC_MINOR],
    ["mark-compacts", constants.NODE_PERFORMANCE_GC_MAJOR],
    ["incremental steps", constants.NODE_PERFORMANCE_GC_INCREMENTAL],
  ] as const;
  return kinds
    .map(([name, kind]) => {
      const ds = pauses.filter((p) => (p as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === kind).map((p) => p.duration);
      return ds.length ? `${ds.length} ${name} (max ${Math.max(...ds).toFixed(1)} ms, ${ds.reduce((a, b) => a + b, 0).toFixed(0)} ms in all)` : `no ${name}`;
    })
    .join(", ");
}

/** Calls the status route open-loop at LOOKUP_RATE for `seconds`, timing each call at the server. */
async function measure(ids: string[], key: string, seconds: number) {
  const latencies: number[] = [];
  const sources = new Map<string, number>();
  let errors = 0;
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  let issuedCalls = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * LOOKUP_RATE);
    for (; issuedCalls < due; issuedCalls++) {
      const id = ids[(issuedCalls * 7919) % ids.length];
      const p = (async () => {
        const t0 = performance.now();
        const res = await statusRoute.GET(new Request(`http://localhost/api/v1/credentials/${id}/status`, { headers: { authorization: `Bearer ${key}` } }), { params: Promise.resolve({ id }) });
        await res.text();
        latencies.push(performance.now() - t0);
        if (res.status !== 200) errors++;
        const source = res.headers.get("x-revenant-source") ?? "none";
        sources.set(source, (sources.get(source) ?? 0) + 1);
      })();
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
  return { latencies, sources, errors, elapsed: (performance.now() - start) / 1000 };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
