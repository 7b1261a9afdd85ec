/**
 * The worker role inside the Next.js server process (embedded mode), started from
 * instrumentation.ts. Kept out of instrumentation.ts itself because Next also compiles
 * that file for the Edge runtime, where process signals and exit do not exist.
 */
import { config } from "@/lib/config";
import { logger } from "@/lib/log";
import { workerJobs } from "./jobs";
import { startWorker } from "./worker";

export async function startWorkerInApp(): Promise<void> {
  const cfg = config();
  if (!cfg.REVENANT_ROLES.includes("worker")) return;
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
