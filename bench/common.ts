/** Shared set-up for benchmarks: a broker, a fresh data directory, fresh topics. */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { IngestConsumer } from "@/ingest/consumer";
import { config, resetConfig } from "@/lib/config";
import { DetectionEngine } from "@/lib/detection/engine";
import { createKafka } from "@/lib/kafka";
import { openSession, store } from "@/lib/store/clickhouse";

export async function benchEnvironment(name: string, extra: Record<string, string> = {}) {
  const port = process.env.BENCH_KAFKA_PORT ?? process.env.TEST_KAFKA_PORT ?? "19092";
  if (!process.env.KAFKA_BROKERS) {
    process.env.KAFKA_PORT = port;
    // @ts-expect-error plain .mjs script
    const broker = await import("../scripts/kafka/broker.mjs");
    await broker.startBroker();
    process.env.KAFKA_BROKERS = `127.0.0.1:${port}`;
  }
  const id = randomUUID().slice(0, 8);
  Object.assign(process.env, {
    KAFKA_TOPIC: `bench.${name}.${id}`,
    KAFKA_DLQ_TOPIC: `bench.${name}.${id}.dlq`,
    KAFKA_GROUP_ID: `bench-${name}-${id}`,
    REVENANT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), `revenant-bench-${name}-`)),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    KAFKAJS_NO_PARTITIONER_WARNING: "1",
    ...extra,
  });
  resetConfig();
  return { id };
}

/** A schema-valid action of about 350 bytes, like a tool server's. */
export function benchEvent(i: number, baseMs: number): string {
  const agent = i % 500;
  return JSON.stringify({
    event_id: `bench-${i}-${(i * 2654435761) % 1e9}`,
    type: "action",
    time: new Date(baseMs + i).toISOString(),
    agent_id: `spiffe://acme.prod/pipeline-${agent % 40}/agent-${agent}`,
    pipeline_id: `pipeline-${agent % 40}`,
    session_id: `sess-${agent}-${i >> 12}`,
    credential_id: `tok-${agent}-${i >> 14}`,
    layer: ["gateway", "tool", "saas", "secret_store"][i % 4],
    source: `mcp-tools-${i % 3}`,
    action: "execute_tool",
    resource: `tool://search/${i % 97}`,
    decision: i % 20 === 0 ? "deny" : "allow",
    sensitivity: "low",
  });
}

export const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * The ingest consumer and detection engine wired as ingest/worker.ts wires them (detection and
 * its publisher on their own sessions, first-copy lookups on another, beside the inserts),
 * without the worker's jobs: what bench:ingest and bench:otlp measure.
 */
export async function benchIngestPath(): Promise<{ consumer: IngestConsumer; stop: () => Promise<void> }> {
  const cfg = config();
  const s = store();
  const engine = new DetectionEngine(s.detector, { graceMs: 0, layerGraceMs: {} }, undefined, { publisher: s.publisher, soleWriter: s.mode === "embedded", backlogPauseMs: cfg.DETECTION_BACKLOG_PAUSE_MS });
  const copies = openSession(s, cfg);
  await engine.start();
  const consumer = new IngestConsumer({
    cfg,
    kafka: createKafka(cfg, "-bench-ingest"),
    client: s.writer,
    lookupClient: copies.client,
    hooks: { afterStore: (e, context) => engine.onEvents(e, context) },
  });
  return {
    consumer,
    stop: async () => {
      await consumer.stop();
      await engine.stop();
      await copies.close();
    },
  };
}

/**
 * CPU seconds per thread name of this process (Linux /proc; empty elsewhere): "main" for the
 * main thread (the one JavaScript thread of the ingest path), worker threads and the embedded
 * engine's pools by their own names. Beside process.cpuUsage() (every thread together), the
 * difference of two readings shows which threads a phase kept busy.
 */
export function threadCpuSeconds(): Map<string, number> {
  const byName = new Map<string, number>();
  try {
    for (const task of readdirSync("/proc/self/task")) {
      try {
        const name = readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim();
        const stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
        const label = task === String(process.pid) ? "main" : name;
        byName.set(label, (byName.get(label) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    // Not Linux.
  }
  return byName;
}

/** "name 1.23 s, …" for the threads that used at least 0.1 s between two readings, busiest first. */
export function threadCpuDelta(before: Map<string, number>, after: Map<string, number>): string {
  return [...after.entries()]
    .map(([name, s]) => [name, s - (before.get(name) ?? 0)] as const)
    .filter(([, s]) => s >= 0.1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${s.toFixed(2)} s`)
    .join(", ");
}
