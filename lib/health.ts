/**
 * GET /api/v1/health: can we reach Kafka and ClickHouse, how far behind is the consumer,
 * and what ingest and detection have done. Lag is cached briefly: health is polled.
 *
 * status: "ok"; "starting" while the worker of this process is still starting (the web
 * app already serves); "degraded" when Kafka or ClickHouse does not answer, or when the
 * worker of this process is not consuming (out of its group, paused by a ClickHouse
 * outage, or no fetch answered for STALE_FETCH_MS). A process without the worker role
 * judges Kafka and ClickHouse only.
 */
import { config } from "./config";
import { createKafka } from "./kafka";
import { runtimeStatus, type IngestStatus } from "./runtime-status";
import { store } from "./store/clickhouse";

interface LagReading {
  at: number;
  connected: boolean;
  lag: number | null;
  error: string | null;
}

const key = Symbol.for("revenant.lagCache");
type WithLag = typeof globalThis & { [key]?: LagReading };

async function readLag(): Promise<LagReading> {
  const g = globalThis as WithLag;
  if (g[key] && Date.now() - g[key]!.at < 2_000) return g[key]!;
  const cfg = config();
  const admin = createKafka(cfg, "-health").admin();
  let reading: LagReading;
  try {
    await admin.connect();
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(cfg.KAFKA_TOPIC),
      admin.fetchOffsets({ groupId: cfg.KAFKA_GROUP_ID, topics: [cfg.KAFKA_TOPIC] }),
    ]);
    const done = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
    const lag = ends.reduce((sum, p) => {
      const c = done.get(p.partition) ?? -1;
      return sum + Math.max(0, Number(p.high) - (c < 0 ? Number(p.low) : c));
    }, 0);
    reading = { at: Date.now(), connected: true, lag, error: null };
  } catch (err) {
    reading = { at: Date.now(), connected: false, lag: null, error: (err as Error).message };
  } finally {
    await admin.disconnect().catch(() => {});
  }
  g[key] = reading;
  return reading;
}

async function pingClickHouse(): Promise<{ ok: boolean; mode: string; error: string | null }> {
  const s = store();
  try {
    const r = await s.reader.ping();
    return { ok: r.success, mode: s.mode, error: r.success ? null : String((r as { error?: Error }).error?.message) };
  } catch (err) {
    return { ok: false, mode: s.mode, error: (err as Error).message };
  }
}

/**
 * A consumer that is in its group fetches at least every INGEST_FLUSH_MS (the broker holds
 * an empty fetch that long) unless a batch is being stored; a minute without a fetch
 * answer means it is stuck, although kafkajs has not noticed yet.
 */
export const STALE_FETCH_MS = 60_000;

export type HealthStatus = "ok" | "starting" | "degraded";

/** How this process's ingest worker is doing, or null when the process does not run one. */
export function ingestHealth(ingest: IngestStatus, worker: boolean, now = Date.now()): HealthStatus | null {
  if (!worker) return null;
  if (ingest.state === "starting") return "starting";
  if (ingest.state !== "consuming" || ingest.paused) return "degraded";
  if (ingest.lastFetchAt !== null && now - ingest.lastFetchAt > STALE_FETCH_MS) return "degraded";
  return "ok";
}

export async function healthReport() {
  const [kafka, clickhouse] = await Promise.all([readLag(), pingClickHouse()]);
  const { ingest, detection } = runtimeStatus();
  const worker = ingestHealth(ingest, config().REVENANT_ROLES.includes("worker"));
  const status: HealthStatus = !kafka.connected || !clickhouse.ok ? "degraded" : (worker ?? "ok");
  return {
    status,
    kafka: { connected: kafka.connected, brokers: config().KAFKA_BROKERS, topic: config().KAFKA_TOPIC, error: kafka.error },
    clickhouse,
    lag: kafka.lag,
    ingest,
    detection,
  };
}
