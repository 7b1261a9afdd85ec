/**
 * What the web process's main thread and its ingest thread (ingest/in-app.ts,
 * ingest/in-app-thread.ts) say to each other. Everything else the two share crosses through
 * lib/threads/ (alert changes, webhook attempts, SSF push wake-ups and key rotations, the alert
 * write lock) or through the tables.
 */
import type { RuntimeStatus } from "@/lib/runtime-status";

export interface IngestThreadData {
  /** lib/threads/lock.ts: the main thread's lock table, adopted before anything locks. */
  lockTable: SharedArrayBuffer;
  /**
   * One Int32 the thread sets to 1 once it no longer uses the embedded engine (after a stop, or
   * a halt). The main thread waits on it with Atomics.wait before the process exits.
   */
  quiesced: SharedArrayBuffer;
}

export type ToIngestThread =
  /** Stop the worker as SIGTERM would (store and commit what it holds, leave the group), then quiesce. */
  | { type: "stop" }
  /** The process exits now: quiesce at once, whatever the worker is doing. */
  | { type: "halt" }
  /** Answer "idle" when detection has nothing pending (tests and benchmarks). */
  | { type: "idle" };

export type FromIngestThread =
  | { type: "status"; status: RuntimeStatus }
  | { type: "started" }
  | { type: "failed"; error: string }
  | { type: "stopped" }
  | { type: "idle" };
