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
  const shutdown = async (signal: string) => {
    logger().info({ signal }, "shutting down worker");
    await worker.stop();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}
