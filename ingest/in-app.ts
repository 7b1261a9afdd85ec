/**
 * The worker role inside the Next.js server process (embedded mode), started from
 * instrumentation.ts. Kept out of instrumentation.ts itself because Next also compiles
 * that file for the Edge runtime, where process signals and exit do not exist.
 *
 * register() must not wait for the worker: joining the consumer group can take a session
 * timeout (30 s) after a restart, and detection loads its state first, while Next.js serves
 * nothing until register() returns. So the worker starts in the background, health reports
 * ingest as "starting" meanwhile (lib/health.ts), and a worker that fails to start still
 * ends the process with exit code 1, as before.
 */
import { config } from "@/lib/config";
import { logger } from "@/lib/log";
import { runtimeStatus } from "@/lib/runtime-status";
import { workerJobs } from "./jobs";
import { startWorker, type Worker } from "./worker";

/** Returns at once; `started` settles when the worker runs (tests wait on it). */
export async function startWorkerInApp(): Promise<{ started: Promise<Worker> } | null> {
  const cfg = config();
  if (!cfg.REVENANT_ROLES.includes("worker")) return null;
  runtimeStatus().ingest.state = "starting";
  const started: Promise<Worker> = startWorker({ cfg, jobs: workerJobs() }).catch((err: Error) => {
    logger().fatal({ err: err.message }, "worker failed to start");
    process.exit(1);
  });
  // Next.js exits on SIGTERM/SIGINT within milliseconds unless NEXT_MANUAL_SIG_HANDLE is
  // set (scripts/start.mjs sets it): then this handler owns shutdown, so the consumer can
  // store and commit what it holds and leave its group. A stuck shutdown ends after 30 s.
  // A signal during start-up waits for the start to finish, then stops the worker.
  const shutdown = async (signal: string) => {
    logger().info({ signal }, "shutting down worker");
    setTimeout(() => process.exit(1), 30_000).unref();
    const worker = await started;
    await worker.stop().catch((err: Error) => logger().error({ err: err.message }, "worker stop failed"));
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  return { started };
}
