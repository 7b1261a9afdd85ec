/**
 * One phase of bench:scale in its own process (one embedded ClickHouse per process), on a topic
 * the parent has filled: the real worker (startWorker) consumes it.
 *   SCALE_PHASE=a  raw ingest rate (the week's actions only, no revocations).
 *   SCALE_PHASE=b  the incident week with detection: ingest rate, derivations until idle, the
 *                  incident in progress (bench/scale-incident.ts), restart time, reads at that
 *                  size (bench/scale-reads.ts), and RSS sampled every second throughout.
 * Prints one result line (bench/scale-util.ts) for the parent, bench/scale.ts.
 *   BENCH_INGEST_ONLY=1  stop after ingest and report its rate, the process's CPU (all its
 *                        threads, ended ones included) and the engine's counts of its work
 *                        (bench/engine-counters.ts): what bench/scale-ab.ts compares. It also
 *                        prints the ClickHouse time of each call (bench/scale-profile.ts).
 */
import { startWorker } from "@/ingest/worker";
import { startAllocationSampling } from "./alloc-sampling";
import { runtimeStatus } from "@/lib/runtime-status";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { plan, sizesFromEnv } from "./scale-data";
import { incident } from "./scale-incident";
import { reads } from "./scale-reads";
import { CallProfile } from "./scale-profile";
import { emitResult, mb, Offsets, progress, RssSampler, sleep, watchIngest } from "./scale-util";
import { threadCpuDelta, threadCpuSeconds } from "./common";
import { countersDelta, readEngineCounters } from "./engine-counters";

const phase = process.env.SCALE_PHASE ?? "a";
/** Phase B's ingest and derivations are cut off after these (the figures then say so), so that a slow engine still gives a report. */
const INGEST_LIMIT_MS = Number(process.env.BENCH_INGEST_LIMIT_S ?? 900) * 1000;
const IDLE_LIMIT_MS = Number(process.env.BENCH_IDLE_LIMIT_S ?? 120) * 1000;

async function count(sql: string): Promise<number> {
  const rows = await queryRows<{ n: number }>(store().reader, "bench:scale", sql);
  return Number(rows[0]?.n ?? 0);
}

async function detectionCounts() {
  const alerts = await queryRows<{ rule: string; n: number }>(store().reader, "bench:scale", "SELECT rule, count() AS n FROM alerts FINAL GROUP BY rule ORDER BY rule");
  return {
    revocations: await count("SELECT count() AS n FROM revocation_state FINAL"),
    pending: await count("SELECT count() AS n FROM revocation_state FINAL WHERE pending = 1"),
    pairs: await count(
      "SELECT count() AS n FROM post_revocation_actions FINAL WHERE (revocation_id, generation) IN (SELECT revocation_id, generation FROM revocation_state FINAL)",
    ),
    violations: await count(
      "SELECT count() AS n FROM post_revocation_actions FINAL WHERE violation AND (revocation_id, generation) IN (SELECT revocation_id, generation FROM revocation_state FINAL)",
    ),
    alerts: Object.fromEntries(alerts.map((a) => [a.rule, Number(a.n)])),
  };
}

async function main() {
  const rss = new RssSampler();
  const offsets = await Offsets.open();
  const total = await offsets.end();
  progress(`phase ${phase}: ${total.toLocaleString("en-US")} messages on the topic; starting the worker`);
  // Only phase B's figures need it; phase A stays uninstrumented as the reference (bench:scale:ab
  // runs every variant as phase b, so all of them are instrumented alike).
  const profile = new CallProfile();
  if (phase === "b") for (const session of ["writer", "detector", "publisher", "scanner"] as const) profile.wrap(session, store()[session]);
  rss.enter("ingest");
  const cpuBefore = threadCpuSeconds();
  const processCpuBefore = process.cpuUsage();
  const ingestOnly = process.env.BENCH_INGEST_ONLY === "1";
  // The engine's counts of its work so far: only the ingest-only run reports them (bench/scale-ab.ts).
  const countersBefore = ingestOnly ? await readEngineCounters(store().reader) : null;
  const stopSampling = await startAllocationSampling(process.env.BENCH_WORKER_ALLOC, `scale-${phase}`);
  let worker = await startWorker();
  const ingest = await watchIngest(
    offsets,
    total,
    (n) => progress(`phase ${phase}: ${n.toLocaleString("en-US")} committed, RSS ${mb(rss.sample())} MB, derivations pending ${worker.engine.pendingCount()}`),
    phase === "b" ? INGEST_LIMIT_MS : Infinity,
  );
  progress(`phase ${phase}: ingest ${Math.round(ingest.rate).toLocaleString("en-US")} events/s over ${ingest.seconds.toFixed(1)} s`);
  // Where the CPU went (main: the JavaScript thread; the engine's threads by name): the two
  // phases side by side say what detection adds.
  progress(`phase ${phase}: CPU by thread during ingest: ${threadCpuDelta(cpuBefore, threadCpuSeconds())}`);
  // Whether a stage held the others back: on 2 cores a store held back by detection leaves a core idle.
  const stages = worker.consumer.stageTimes();
  progress(
    `phase ${phase}: flush stages over ${ingest.seconds.toFixed(1)} s of ingest: storing ${(stages.storing / 1000).toFixed(1)} s, ` +
      `held back by detection ${(stages.storeHeldByDetection / 1000).toFixed(1)} s, detecting ${(stages.detecting / 1000).toFixed(1)} s`,
  );
  await stopSampling();
  /** Stops the worker, hands the parent its result line and exits. */
  const finish = async (result: object): Promise<never> => {
    await worker.stop();
    await offsets.close();
    rss.stop();
    emitResult(result);
    await closeStore();
    process.exit(0);
  };
  if (ingestOnly) {
    // Side by side, the variants' lists say which calls the incident week adds.
    progress(`phase ${phase}: ClickHouse time of the worker during ingest:\n${profile.top(25).join("\n")}`);
    const cpu = process.cpuUsage(processCpuBefore);
    const engine = countersDelta(countersBefore!, await readEngineCounters(store().reader));
    return finish({ ingest, cpuSeconds: (cpu.user + cpu.system) / 1e6, rssMaxMb: mb(rss.maxOf("ingest")), prepared: worker.engine.preparedCounts(), engine });
  }
  if (phase === "a") return finish({ ingest, stored: await count("SELECT count() AS n FROM events"), rssMaxMb: mb(rss.maxOf("ingest")) });

  const ingestProfile = profile.top(12);
  progress(`phase b: ClickHouse time of the worker during ingest:\n${ingestProfile.join("\n")}`);
  profile.reset();
  rss.enter("derivations");
  const pendingAtIngestEnd = worker.engine.pendingCount();
  // What the week's batches prepared during ingest: what detection's cost grows with.
  const prepared = worker.engine.preparedCounts();
  const t0 = performance.now();
  const idle = await Promise.race([worker.engine.idle().then(() => true), sleep(IDLE_LIMIT_MS).then(() => false)]);
  const derivationSeconds = (performance.now() - t0) / 1000;
  progress(`phase b: derivations ${idle ? "idle" : "still running"} ${derivationSeconds.toFixed(1)} s after ingest (${pendingAtIngestEnd} pending at ingest end); counting`);
  const counts = await detectionCounts();
  progress(`phase b: ${JSON.stringify(counts)}`);

  rss.enter("incident");
  profile.reset();
  const p = plan(sizesFromEnv());
  // The worker kept consuming past a time limit; with a backlog left, produce → alert would measure the backlog.
  const caughtUp = (await offsets.committed()) >= (await offsets.end());
  const inc = caughtUp ? await incident(p, offsets, worker.engine) : null;
  await Promise.race([worker.engine.idle(), sleep(IDLE_LIMIT_MS)]);
  const incidentProfile = profile.top(8);
  progress(`phase b: ClickHouse time of the worker during the incident:\n${incidentProfile.join("\n")}`);

  rss.enter("restart");
  await worker.stop();
  const status = runtimeStatus().ingest;
  status.connected = false;
  const t1 = performance.now();
  worker = await startWorker();
  const startReturned = (performance.now() - t1) / 1000;
  while (!status.connected && performance.now() - t1 < 120_000) await sleep(10);
  const startJoined = status.connected ? (performance.now() - t1) / 1000 : NaN;
  progress(`phase b: restart returned in ${startReturned.toFixed(2)} s, consumer joined after ${startJoined.toFixed(2)} s`);

  rss.enter("reads");
  const r = await reads(p);
  const rssEnd = rss.sample();
  await finish({
    ingest,
    pendingAtIngestEnd,
    prepared,
    derivationSeconds,
    idle,
    counts,
    incident: inc,
    startReturned,
    startJoined,
    reads: r,
    profile: { ingest: ingestProfile, incident: incidentProfile },
    rss: {
      ingestMaxMb: mb(rss.maxOf("ingest")),
      derivationsMaxMb: mb(rss.maxOf("derivations")),
      incidentMaxMb: mb(rss.maxOf("incident")),
      incidentPerMinuteMb: rss.minutesOf("incident"),
      endMb: mb(rssEnd),
    },
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
