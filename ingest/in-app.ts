/**
 * The worker role inside the Next.js server process, started from instrumentation.ts. Kept
 * out of instrumentation.ts itself because Next also compiles that file for the Edge runtime,
 * where process signals and exit do not exist.
 *
 * The worker runs in a worker thread of this process (ingest/in-app-thread.ts), not on the
 * event loop that serves requests: ingest's synchronous stretches (kafkajs decoding a fetch,
 * JSON decoding, building inserts, parsing query results, detection) would otherwise delay every
 * request behind them, the credential status lookup on an enforcement point's path first. One
 * process still owns the embedded engine's data directory; each thread has its own sessions.
 *
 * register() must not wait for the worker: joining the consumer group can take a session
 * timeout (30 s) after a restart, and detection loads its state first, while Next.js serves
 * nothing until register() returns. So the worker starts in the background, health reports
 * ingest as "starting" meanwhile (lib/health.ts), and a worker that fails to start still
 * ends the process with exit code 1.
 *
 * The embedded engine (chdb) sets three rules for the thread, all measured:
 * - the main thread loads the engine first (store() below): an engine loaded by the thread
 *   alone is unloaded with it at exit, and the process ends in a segmentation fault;
 * - the thread lives as long as the process: its teardown closes every session of the process,
 *   after which the main thread's queries never return. So it is never terminated, and if it
 *   ends anyway the process exits with code 1;
 * - when the process exits, none of the thread's queries may still be running (Node aborts in
 *   the thread's teardown when one completes, and the exit hangs): an exit handler asks the
 *   thread to close its sessions and waits for it (at most HALT_WAIT_MS) before the process
 *   goes, whoever called process.exit.
 */
import { Worker } from "node:worker_threads";
import { config } from "@/lib/config";
import { logger } from "@/lib/log";
import { adoptRuntimeStatus, runtimeStatus } from "@/lib/runtime-status";
import { store } from "@/lib/store/clickhouse";
import { threadsLockTable } from "@/lib/threads/lock";
import type { FromIngestThread, IngestThreadData, ToIngestThread } from "./in-app-protocol";
import { sourceThread } from "./source-thread";

/** How long an exit waits for the ingest thread to finish its running queries (a long scan may not finish: then SIGKILL). */
const HALT_WAIT_MS = 10_000;
/** How long SIGTERM/SIGINT waits for the worker to store and commit what it holds. */
const STOP_WAIT_MS = 30_000;

export interface IngestThread {
  /** Stops the worker (stores and commits what it holds, leaves the group); the thread stays, idle, until the process exits. */
  stop(): Promise<void>;
  /** Resolves when detection in the thread has nothing pending (tests and benchmarks). */
  idle(): Promise<void>;
}

/**
 * The ingest thread's young generation: 128 MiB of new space, what `--max-semi-space-size=64`
 * gives (192 = 3 × 64, measured with v8.getHeapSpaceStatistics()). Ingest allocates a few
 * short-lived objects per event, and with V8's default the scavenger ran often enough to cost
 * ~20% of its throughput (bench:ingest: ~55k → ~69k events/s). Set for this thread alone: the
 * main thread serves requests, and its scavenges, which pause every handler, stay shorter with
 * V8's default (bench:lookup, five pairs of runs: longest pause 43–80 → 25–42 ms,
 * docs/BENCHMARKS.md "2026-12-01, night").
 */
const INGEST_YOUNG_GENERATION_MB = 192;

function spawnIngestThread(workerData: IngestThreadData): Worker {
  const resourceLimits = { maxYoungGenerationSizeMb: INGEST_YOUNG_GENERATION_MB };
  if (process.env.NEXT_RUNTIME) {
    // Next.js (Turbopack) compiles the entry this expression names into a server chunk of its
    // own, in `next build` and `next dev` alike, and rewrites the expression to load that chunk.
    return new Worker(new URL("./in-app-thread.ts", import.meta.url), { name: "revenant-ingest", workerData, resourceLimits });
  }
  const entry = import.meta.url.replace(/[^/]+$/, "in-app-thread.ts");
  return sourceThread(entry, { name: "revenant-ingest", workerData: { ...workerData }, resourceLimits });
}

/** Returns at once; `started` settles when the worker runs (tests wait on it). */
export async function startWorkerInApp(): Promise<{ started: Promise<IngestThread> } | null> {
  const cfg = config();
  if (!cfg.REVENANT_ROLES.includes("worker")) return null;
  const log = logger();
  runtimeStatus().ingest.state = "starting";
  // The engine is loaded, and its data directory opened, by this thread first (see above).
  store();

  const quiesced = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const thread = spawnIngestThread({ lockTable: threadsLockTable(), quiesced: quiesced.buffer as SharedArrayBuffer });
  const send = (message: ToIngestThread) => thread.postMessage(message);
  let exited = false;
  let stopping = false;
  const fatal = (what: string, err: string) => {
    log.fatal({ err }, what);
    process.exit(1);
  };

  let resolveStarted!: () => void;
  const startedSignal = new Promise<void>((r) => (resolveStarted = r));
  const stopped: (() => void)[] = [];
  const idle: (() => void)[] = [];
  thread.on("message", (message: FromIngestThread) => {
    switch (message.type) {
      case "status":
        adoptRuntimeStatus(message.status);
        break;
      case "started":
        resolveStarted();
        break;
      case "failed":
        fatal("worker failed to start", message.error);
        break;
      case "stopped":
        for (const r of stopped.splice(0)) r();
        break;
      case "idle":
        idle.shift()?.();
        break;
    }
  });
  // An error the thread did not catch (its entry failed to load: it logs and survives the rest)
  // ends it, so there is nothing left to wait for at exit.
  thread.on("error", (err) => {
    exited = true;
    fatal("the ingest thread failed", err.message);
  });
  thread.on("exit", (code) => {
    exited = true;
    // Only the process's exit ends the thread; without it this process's engine sessions are gone.
    if (!stopping) fatal("the ingest thread ended", `exit code ${code}`);
  });

  // Whoever exits the process (this module, Next.js on a signal, an uncaught error): the thread
  // first closes its engine sessions and waits for its running queries. Synchronous, because
  // an exit handler cannot wait otherwise; the thread runs its own event loop meanwhile.
  process.on("exit", () => {
    stopping = true;
    if (exited || Atomics.load(quiesced, 0) === 1) return;
    send({ type: "halt" });
    if (Atomics.wait(quiesced, 0, 0, HALT_WAIT_MS) === "timed-out") {
      log.fatal("the ingest thread did not finish its queries in time; killing the process");
      process.kill(process.pid, "SIGKILL");
    }
  });

  const handle: IngestThread = {
    stop: () =>
      new Promise<void>((resolve) => {
        stopped.push(() => {
          // The thread stays (idle) until the process exits, but no longer keeps it alive.
          thread.unref();
          resolve();
        });
        send({ type: "stop" });
      }),
    idle: () =>
      new Promise<void>((resolve) => {
        idle.push(resolve);
        send({ type: "idle" });
      }),
  };

  // Next.js exits on SIGTERM/SIGINT within milliseconds unless NEXT_MANUAL_SIG_HANDLE is
  // set (scripts/start.mjs sets it): then this handler owns shutdown, so the consumer can
  // store and commit what it holds and leave its group. A stuck shutdown ends after 30 s.
  // A signal during start-up waits for the start to finish, then stops the worker.
  const shutdown = async (signal: string) => {
    log.info({ signal }, "shutting down worker");
    setTimeout(() => process.exit(1), STOP_WAIT_MS).unref();
    await startedSignal;
    await handle.stop();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  return { started: startedSignal.then(() => handle) };
}
