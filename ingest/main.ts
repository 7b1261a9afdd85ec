/**
 * Runs the worker role on its own (server mode, or tests that kill and restart it):
 *   CLICKHOUSE_URL=http://… REVENANT_ROLES=worker node --max-semi-space-size=64 --import tsx ingest/main.ts
 * (the larger young generation is worth ~20% of ingest throughput: see scripts/start.mjs)
 * SIGTERM/SIGINT (also during start-up): finish and commit the batch in flight, leave the group, exit 0.
 */
import { closeStore } from "@/lib/store/clickhouse";
import { logger } from "@/lib/log";
import { workerJobs } from "./jobs";
import { startWorker } from "./worker";

// Handlers first: a signal during start-up (migrations, joining the group, starting the
// jobs) waits for the start to finish and then stops cleanly, instead of killing the process
// with the signal's default action.
const started = startWorker({ jobs: workerJobs() });
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger().info({ signal }, "shutting down");
  const worker = await started;
  await worker.stop();
  await closeStore();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
await started;
