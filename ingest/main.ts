/**
 * Runs the worker role on its own (server mode, or tests that kill and restart it):
 *   CLICKHOUSE_URL=http://… REVENANT_ROLES=worker npx tsx ingest/main.ts
 * SIGTERM/SIGINT: finish and commit the batch in flight, leave the group, exit 0.
 */
import { closeStore } from "@/lib/store/clickhouse";
import { logger } from "@/lib/log";
import { workerJobs } from "./jobs";
import { startWorker } from "./worker";

const worker = await startWorker({ jobs: workerJobs() });
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger().info({ signal }, "shutting down");
  await worker.stop();
  await closeStore();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
