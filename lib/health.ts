/**
 * GET /api/v1/health: can we reach Kafka and ClickHouse, how far behind is the consumer,
 * and what ingest and detection have done. Lag is cached briefly: health is polled.
 */
import { config } from "./config";
import { createKafka } from "./kafka";
import { runtimeStatus } from "./runtime-status";
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

export async function healthReport() {
  const [kafka, clickhouse] = await Promise.all([readLag(), pingClickHouse()]);
  const { ingest, detection } = runtimeStatus();
  return {
    status: kafka.connected && clickhouse.ok ? "ok" : "degraded",
    kafka: { connected: kafka.connected, brokers: config().KAFKA_BROKERS, topic: config().KAFKA_TOPIC, error: kafka.error },
    clickhouse,
    lag: kafka.lag,
    ingest,
    detection,
  };
}
