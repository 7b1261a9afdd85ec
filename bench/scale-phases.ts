/**
 * What bench:scale (bench/scale.ts) and bench:scale:ab (bench/scale-ab.ts) share: filling a
 * topic with the incident week (bench/scale-data.ts), and running one phase's worker in a
 * process of its own (bench/scale-worker.ts: one embedded ClickHouse per process).
 */
import { spawn } from "node:child_process";
import { Partitioners } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka, ensureTopics } from "@/lib/kafka";
import { plan, sizesFromEnv, stream, type Expected } from "./scale-data";
import { parseResult } from "./scale-util";

// kafkajs 2.2 groups a send's messages per partition by copying the group's array for every
// message (producer/groupMessagesPerPartition.js): a send costs the square of its size, so
// many mid-sized sends in flight beat a few big ones (measured: 2,500 × 16 vs 10,000 × 6).
const CHUNK = Number(process.env.BENCH_PRODUCE_CHUNK ?? 2_500);
const IN_FLIGHT = 16;

/** Produces the week to the configured topic: its actions, and its control events when `withControl`. */
export async function produce(withControl: boolean, expected?: Expected): Promise<{ messages: number; seconds: number }> {
  const cfg = config();
  const kafka = createKafka(cfg, "-bench-scale");
  await ensureTopics(kafka, cfg);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const t0 = performance.now();
  const inflight: Promise<unknown>[] = [];
  let messages = 0;
  for (const chunk of stream(plan(sizesFromEnv()), withControl, CHUNK, expected)) {
    inflight.push(producer.send({ topic: cfg.KAFKA_TOPIC, messages: chunk, acks: 1 }));
    messages += chunk.length;
    if (inflight.length >= IN_FLIGHT) await inflight.shift();
  }
  await Promise.all(inflight);
  await producer.disconnect();
  return { messages, seconds: (performance.now() - t0) / 1000 };
}

/** Runs one phase's worker on the configured topic, with `env` added to this process's; resolves with its result line. */
export function runPhase<T>(phase: "a" | "b", env: Record<string, string> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const profile = process.env.BENCH_WORKER_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_WORKER_PROF}`] : [];
    // A variant may set its own (bench/scale-ab.ts): `env` wins over this process's environment.
    const flags = (env.BENCH_WORKER_NODE_FLAGS ?? process.env.BENCH_WORKER_NODE_FLAGS ?? "").split(" ").filter(Boolean);
    const child = spawn(process.execPath, [...profile, ...flags, "--max-semi-space-size=64", "--import", "tsx", "bench/scale-worker.ts"], {
      env: { ...process.env, ...env, SCALE_PHASE: phase },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      // Anything but the result line (logs) is passed on.
      for (const line of d.toString().split("\n")) if (line && !line.startsWith("SCALE_RESULT ")) process.stderr.write(line + "\n");
    });
    child.once("exit", (code) => {
      const result = parseResult<T>(out);
      if (code === 0 && result) resolve(result);
      else reject(new Error(`phase ${phase} exited with code ${code}${result ? "" : " without a result"}`));
    });
  });
}
