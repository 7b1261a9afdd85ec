/**
 * npm run bench:scale — detection at the size of a real incident week (bench/scale-data.ts):
 * BENCH_EVENTS actions (default 5,000,000) of 20,000 agents in 400 pipelines over 7 days,
 * ~4,500 revocations, leaking delegated credentials, reinstatements, late control events;
 * produced straight to Kafka, then consumed by the real worker (ingest/worker.ts).
 *
 * A. Reference, same run: the same actions without any control event, on a fresh topic and
 *    data directory — the raw ingest rate when detection has nothing to do. Measured twice,
 *    before and after B (A1, A2: the same topic read again from a fresh data directory and
 *    consumer group), and B is compared with their mean: a 2-core shared host changes speed
 *    over a run, and a reference on both sides of B cancels a drift that a reference on one
 *    side turns into the ratio (docs/BENCHMARKS.md). BENCH_REFERENCE_AFTER=0 skips A2.
 * B. The incident week with detection: ingest rate and B/A (target ≥ 0.8), derivations until
 *    idle, counts against what the generator put in, then an incident in progress (offending
 *    actions every 200 ms over background load: produce → alert p99 ≤ 1 s), a restart on that
 *    history (≤ 10 s), reads at that size (agent timeline p95 ≤ 50 ms) and RSS.
 * Each phase runs in its own process (bench/scale-worker.ts): one embedded ClickHouse each.
 *   BENCH_EVENTS=300000 npm run bench:scale    (a quick run; BENCH_KEEP_DATA=1 keeps phase B's store)
 *   BENCH_WORKER_PROF=/tmp/prof npm run bench:scale   (a CPU profile of each phase's worker, node --cpu-prof)
 *   BENCH_WORKER_NODE_FLAGS="--trace-gc" npm run bench:scale   (more node flags for each phase's worker)
 *   BENCH_WORKER_ALLOC=/tmp/alloc npm run bench:scale   (where each phase's worker allocates during ingest: bench/alloc-sampling.ts)
 */
import { rmSync } from "node:fs";
import { config, resetConfig } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import { benchEnvironment, fmt } from "./common";
import { Expected, plan, sizesFromEnv } from "./scale-data";
import { produce, runPhase } from "./scale-phases";
import { progress } from "./scale-util";
import { summary, type PhaseA, type PhaseB } from "./scale-summary";

/** Phase A runs again after B, as the second half of the reference (see above). */
const REFERENCE_AFTER = process.env.BENCH_REFERENCE_AFTER !== "0";

async function dropTopic(): Promise<void> {
  const cfg = config();
  const admin = createKafka(cfg, "-bench-scale-admin").admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [cfg.KAFKA_TOPIC, cfg.KAFKA_DLQ_TOPIC] }).catch(() => {});
  await admin.disconnect();
}

async function main() {
  const sizes = sizesFromEnv();
  process.env.BENCH_SCALE_END_MS = String(sizes.endMs); // the same week in every process
  const extra = { INGEST_BATCH_SIZE: process.env.INGEST_BATCH_SIZE ?? "20000", INGEST_FLUSH_MS: process.env.INGEST_FLUSH_MS ?? "50" };
  const p = plan(sizes);
  console.log(
    `bench:scale — ${fmt(sizes.events)} actions, ${fmt(sizes.agents)} agents in ${fmt(sizes.pipelines)} pipelines over 7 days, ` +
      `${fmt(p.revocations.length)} revocations (${p.revocations.filter((v) => v.childIssuedAt !== null).length} with a leaking delegated credential, ` +
      `${p.revocations.filter((v) => v.reinstatedAt !== null).length} reinstated, ${p.revocations.filter((v) => v.producedAt > v.at).length} late)`,
  );

  await benchEnvironment("scale-a", extra);
  const topicA = { KAFKA_TOPIC: process.env.KAFKA_TOPIC!, KAFKA_DLQ_TOPIC: process.env.KAFKA_DLQ_TOPIC! };
  const producedA = await produce(false);
  progress(`phase a: produced ${fmt(producedA.messages)} in ${producedA.seconds.toFixed(1)} s (${fmt(producedA.messages / producedA.seconds)}/s)`);
  const a1 = await runPhase<PhaseA>("a");
  rmSync(config().REVENANT_DATA_DIR, { recursive: true, force: true });
  if (!REFERENCE_AFTER) await dropTopic();

  await benchEnvironment("scale-b", extra);
  const expected = new Expected(p.revocations.length);
  const producedB = await produce(true, expected);
  progress(`phase b: produced ${fmt(producedB.messages)} in ${producedB.seconds.toFixed(1)} s (${fmt(producedB.messages / producedB.seconds)}/s)`);
  const b = await runPhase<PhaseB>("b");
  await dropTopic();
  // BENCH_KEEP_DATA=1 keeps phase B's data directory, to study its queries afterwards.
  if (process.env.BENCH_KEEP_DATA === "1") progress(`phase b: data kept in ${config().REVENANT_DATA_DIR}`);
  else rmSync(config().REVENANT_DATA_DIR, { recursive: true, force: true });

  let a2: PhaseA | null = null;
  if (REFERENCE_AFTER) {
    // Phase A's topic again, from a fresh data directory and consumer group: the same messages.
    await benchEnvironment("scale-a2", extra);
    Object.assign(process.env, topicA);
    resetConfig();
    a2 = await runPhase<PhaseA>("a");
    await dropTopic();
    rmSync(config().REVENANT_DATA_DIR, { recursive: true, force: true });
  }

  console.log(summary({ sizes, producedA, producedB, a1, a2, b, expected: expected.summary() }));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
