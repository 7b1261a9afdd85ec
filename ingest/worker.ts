/**
 * The worker role: migrations, the detection engine, the ingest consumer (which calls
 * detection after every stored batch, before committing offsets), and any background
 * jobs registered by other modules (webhook delivery). Started in-process by
 * instrumentation.ts (embedded mode) or on its own by ingest/main.ts (server mode).
 */
import { alertBus } from "@/lib/alerts/bus";
import { config, type Config } from "@/lib/config";
import { DetectionEngine } from "@/lib/detection/engine";
import { createKafka } from "@/lib/kafka";
import { logger } from "@/lib/log";
import { runtimeStatus } from "@/lib/runtime-status";
import { store, type Store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { IngestConsumer } from "./consumer";

export interface BackgroundJob {
  name: string;
  start(store: Store, cfg: Config): Promise<void>;
  stop(): Promise<void>;
}

export interface Worker {
  engine: DetectionEngine;
  consumer: IngestConsumer;
  stop(): Promise<void>;
}

export async function startWorker(opts: { cfg?: Config; jobs?: BackgroundJob[] } = {}): Promise<Worker> {
  const cfg = opts.cfg ?? config();
  const log = logger().child({ component: "worker" });
  const s = store();
  await migrate(s.writer);
  const status = runtimeStatus().detection;
  const engine = new DetectionEngine(
    s.writer,
    { graceMs: cfg.DETECTION_GRACE_MS, layerGraceMs: cfg.DETECTION_LAYER_GRACE_MS },
    (changes) => alertBus().emit("changes", changes),
  );
  await engine.start();
  status.running = true;
  const consumer = new IngestConsumer({
    cfg,
    kafka: createKafka(cfg, "-ingest"),
    client: s.writer,
    hooks: {
      // Runs before the batch's offsets are committed. A revocation whose evaluation fails
      // is kept by the engine and retried (next batch, and every 5 s below), so detection
      // trouble delays results without stalling ingestion or losing them.
      afterStore: async (events) => {
        await engine.onEvents(events);
        status.evaluations++;
        status.lastEvaluationAt = new Date().toISOString();
        status.lastError = engine.lastError;
      },
    },
  });
  await consumer.start();
  const retry = setInterval(() => {
    engine
      .retryFailed()
      .then(() => (status.lastError = engine.lastError))
      .catch((err: Error) => log.error({ err: err.message }, "detection retry failed"));
  }, 5_000);
  retry.unref();
  for (const job of opts.jobs ?? []) await job.start(s, cfg);
  log.info("worker started");
  let stopped = false;
  return {
    engine,
    consumer,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(retry);
      await consumer.stop();
      for (const job of opts.jobs ?? []) await job.stop().catch((err) => log.warn({ job: job.name, err: err.message }, "job stop failed"));
      status.running = false;
    },
  };
}
