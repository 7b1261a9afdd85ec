/**
 * The ingest worker's thread inside the web process (embedded mode), started by
 * ingest/in-app.ts: the consumer, decoding, batching, first-copy checks, detection, the
 * covered-credentials feed and the background jobs (ingest/jobs.ts) run here, on an event loop
 * of their own, so that no synchronous stretch of ingest delays a request of the main thread
 * (the credential status lookup on a tool call's path above all).
 *
 * The thread shares the process's embedded ClickHouse engine with the main thread (its own
 * sessions on the same data directory). The engine dictates its life: it must not end before
 * the process does (its teardown closes every session of the process), and when the process
 * exits it must have no query running (see quiesce below and ingest/in-app.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { config } from "@/lib/config";
import { detectionIdle } from "@/lib/detection/engine";
import { logger } from "@/lib/log";
import { runtimeStatus } from "@/lib/runtime-status";
import { closeStore, quiesceEmbeddedEngine } from "@/lib/store/clickhouse";
import { adoptThreadsLockTable } from "@/lib/threads/lock";
import type { FromIngestThread, IngestThreadData, ToIngestThread } from "./in-app-protocol";
import { workerJobs } from "./jobs";
import { startWorker, type Worker } from "./worker";

/** How often the main thread hears the ingest and detection status (health reads it there). */
const STATUS_INTERVAL_MS = 250;

function main(): void {
  const port = parentPort!;
  const data = workerData as IngestThreadData;
  const post = (message: FromIngestThread) => port.postMessage(message);
  adoptThreadsLockTable(data.lockTable);
  const quiesced = new Int32Array(data.quiesced);
  const log = logger().child({ component: "ingest-thread" });

  // Next.js logs an uncaught error of the main thread and keeps serving; the same here. A
  // thread that died would take the engine's sessions of the whole process with it.
  process.on("uncaughtException", (err) => log.error({ err: err.message, stack: err.stack }, "uncaught exception in the ingest thread"));
  process.on("unhandledRejection", (err) => log.error({ err: String((err as Error)?.message ?? err) }, "unhandled rejection in the ingest thread"));

  runtimeStatus().ingest.state = "starting";
  let reported = "";
  const report = () => {
    const status = runtimeStatus();
    const json = JSON.stringify(status);
    if (json === reported) return;
    reported = json;
    post({ type: "status", status });
  };
  // Also what keeps the thread alive when the worker is stopped: it must not end before the process.
  setInterval(report, STATUS_INTERVAL_MS);

  let quiescing: Promise<void> | null = null;
  const quiesce = () =>
    (quiescing ??= quiesceEmbeddedEngine()
      .catch((err: Error) => log.error({ err: err.message }, "closing the engine's sessions failed"))
      .finally(() => {
        Atomics.store(quiesced, 0, 1);
        Atomics.notify(quiesced, 0);
      }));

  const started: Promise<Worker | null> = startWorker({ cfg: config(), jobs: workerJobs() }).then(
    (worker) => {
      report();
      post({ type: "started" });
      return worker;
    },
    async (err: Error) => {
      await quiesce();
      report();
      post({ type: "failed", error: err.message });
      return null;
    },
  );

  port.on("message", (message: ToIngestThread) => {
    switch (message.type) {
      case "halt":
        void quiesce();
        break;
      case "stop":
        void (async () => {
          const worker = await started;
          await worker?.stop().catch((err: Error) => log.error({ err: err.message }, "worker stop failed"));
          await closeStore().catch(() => {});
          await quiesce();
          report();
          post({ type: "stopped" });
        })();
        break;
      case "idle":
        void detectionIdle().then(() => post({ type: "idle" }));
        break;
    }
  });
}

main();
