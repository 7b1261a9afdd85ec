/**
 * Runs once per Next.js server process. In the "worker" role (default: embedded mode
 * runs everything in one process, because one process owns the chdb data directory)
 * it starts the Kafka consumer, detection and background jobs beside the web app.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { config } = await import("./lib/config");
  const cfg = config();
  if (!cfg.REVENANT_ROLES.includes("worker")) return;
  const { startWorker } = await import("./ingest/worker");
  const { workerJobs } = await import("./ingest/jobs");
  const { logger } = await import("./lib/log");
  const worker = await startWorker({ cfg, jobs: workerJobs() }).catch((err: Error) => {
    logger().fatal({ err: err.message }, "worker failed to start");
    process.exit(1);
  });
  // Next.js exits on SIGTERM/SIGINT within milliseconds unless NEXT_MANUAL_SIG_HANDLE is
  // set (scripts/start.mjs sets it): then this handler owns shutdown, so the consumer can
  // store and commit what it holds and leave its group. A stuck shutdown ends after 30 s.
  const shutdown = async (signal: string) => {
    logger().info({ signal }, "shutting down worker");
    setTimeout(() => process.exit(1), 30_000).unref();
    await worker.stop().catch((err: Error) => logger().error({ err: err.message }, "worker stop failed"));
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}
