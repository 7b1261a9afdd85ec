/**
 * npm run bench:scale:ab — compares variants of the worker on bench:scale's incident week by
 * running their ingest in turns on one pair of topics, so that the host's drift falls on every
 * variant alike. On this kind of 2-core host one run of a phase differs from the next by up to
 * ±10% for the same code (docs/BENCHMARKS.md), more than most changes are worth; alternating
 * the variants, and taking several rounds, tells a change from the host.
 *
 * A variant is a set of environment variables for the worker (its settings, lib/config), and
 * `BENCH_AB_TOPIC: "reference"` runs it on the week without control events (bench:scale's
 * phase A) instead of the incident week. Each run starts a fresh data directory and consumer
 * group, ingests the whole topic (bench/scale-worker.ts, BENCH_INGEST_ONLY) and reports its
 * rate, the CPU its process used (every thread, ended ones included) and the embedded engine's
 * counts of its work (queries, rows selected, inserted and merged: bench/engine-counters.ts),
 * which, unlike seconds, barely move with the host. Rounds alternate the order of the variants
 * (ABC, CBA, ABC, …). A variant's BENCH_WORKER_NODE_FLAGS are its worker's Node.js flags.
 *   BENCH_EVENTS=2000000 BENCH_AB_ROUNDS=3 \
 *   BENCH_AB_VARIANTS='{"reference":{"BENCH_AB_TOPIC":"reference"},"incident":{},"pause 30 s":{"DETECTION_BACKLOG_PAUSE_MS":"30000"}}' \
 *   npm run bench:scale:ab
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { config, resetConfig } from "@/lib/config";
import type { PreparedCounts } from "@/lib/detection/prepared-counts";
import { benchEnvironment, fmt } from "./common";
import { describeCounters, meanCounters, type EngineCounters } from "./engine-counters";
import { sizesFromEnv } from "./scale-data";
import { produce, runPhase } from "./scale-phases";
import { progress } from "./scale-util";

const variantsSchema = z.record(z.string(), z.record(z.string(), z.string())).refine((v) => Object.keys(v).length > 0, "name at least one variant");
const DEFAULT_VARIANTS = { reference: { BENCH_AB_TOPIC: "reference" }, incident: {} };

interface IngestOnly {
  ingest: { rate: number; seconds: number };
  cpuSeconds: number;
  rssMaxMb: number;
  prepared: PreparedCounts;
  engine: EngineCounters;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  const variants = variantsSchema.parse(process.env.BENCH_AB_VARIANTS ? JSON.parse(process.env.BENCH_AB_VARIANTS) : DEFAULT_VARIANTS);
  const rounds = Number(process.env.BENCH_AB_ROUNDS ?? 3);
  const sizes = sizesFromEnv();
  process.env.BENCH_SCALE_END_MS = String(sizes.endMs); // the same week in every process
  await benchEnvironment("scale-ab", { INGEST_BATCH_SIZE: process.env.INGEST_BATCH_SIZE ?? "20000", INGEST_FLUSH_MS: process.env.INGEST_FLUSH_MS ?? "50" });

  const incidentTopic = config().KAFKA_TOPIC;
  const referenceTopic = `${incidentTopic}.reference`;
  const names = Object.keys(variants);
  if (names.some((n) => variants[n].BENCH_AB_TOPIC === "reference")) {
    process.env.KAFKA_TOPIC = referenceTopic;
    resetConfig();
    await produce(false);
  }
  process.env.KAFKA_TOPIC = incidentTopic;
  resetConfig();
  const produced = await produce(true);
  progress(`bench:scale:ab — ${fmt(sizes.events)} actions; incident week ${fmt(produced.messages)} messages; variants ${names.join(", ")}; ${rounds} rounds`);

  const results = new Map<string, IngestOnly[]>(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), "revenant-bench-scale-ab-"));
      const topic = variants[name].BENCH_AB_TOPIC === "reference" ? referenceTopic : incidentTopic;
      try {
        const r = await runPhase<IngestOnly>("b", {
          ...variants[name],
          KAFKA_TOPIC: topic,
          KAFKA_GROUP_ID: `bench-scale-ab-${round}-${names.indexOf(name)}-${Date.now()}`,
          REVENANT_DATA_DIR: dataDir,
          BENCH_INGEST_ONLY: "1",
        });
        results.get(name)!.push(r);
        // Derivations vary from run to run with where flush boundaries fall: they explain part of a run's CPU.
        const derived = Object.values(r.prepared.derived).reduce((a, b) => a + b, 0);
        progress(
          `round ${round + 1} ${name}: ${fmt(r.ingest.rate)} events/s over ${r.ingest.seconds.toFixed(1)} s, CPU ${r.cpuSeconds.toFixed(1)} s, RSS max ${fmt(r.rssMaxMb)} MB, ${fmt(derived)} derivations; ${describeCounters(r.engine)}`,
        );
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }

  const first = results.get(names[0])!;
  const firstRate = mean(first.map((r) => r.ingest.rate));
  const firstCpu = mean(first.map((r) => r.cpuSeconds));
  console.log(`\nbench:scale:ab summary — ${fmt(sizes.events)} actions, ${rounds} rounds, variants run in turns`);
  for (const name of names) {
    const runs = results.get(name)!;
    const rate = mean(runs.map((r) => r.ingest.rate));
    const cpu = mean(runs.map((r) => r.cpuSeconds));
    const against = name === names[0] ? "" : `   rate ×${(rate / firstRate).toFixed(2)}, CPU ×${(cpu / firstCpu).toFixed(2)} of ${names[0]}`;
    console.log(
      `  ${name.padEnd(24)} ${fmt(rate).padStart(7)} events/s [${runs.map((r) => fmt(r.ingest.rate)).join(", ")}]  CPU ${cpu.toFixed(1)} s [${runs.map((r) => r.cpuSeconds.toFixed(1)).join(", ")}]${against}`,
    );
  }
  // The engine's counts move little with the host: they say what work a variant adds.
  console.log(`engine's work per run (mean; × of ${names[0]}):`);
  const firstCounters = meanCounters(first.map((r) => r.engine));
  for (const name of names) {
    const counters = meanCounters(results.get(name)!.map((r) => r.engine));
    console.log(`  ${name.padEnd(24)} ${describeCounters(counters, name === names[0] ? undefined : firstCounters)}`);
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
