/**
 * What the running jobs report about themselves, for GET /api/v1/health and the UI.
 * On globalThis because the ingest worker and the route handlers live in different Next.js
 * bundles. In embedded mode the worker runs in a thread of its own (ingest/in-app.ts), which
 * keeps its own copy and reports it to the main thread, where health reads it.
 */
import { noPreparations, type PreparedCounts } from "./detection/prepared-counts";

/**
 * starting: migrations, detection start-up and joining the consumer group (the web app
 * already serves); consuming: in the group and fetching; disconnected: lost the broker or
 * the group, kafkajs is reconnecting; stopped: not running in this process.
 */
export type IngestState = "stopped" | "starting" | "consuming" | "disconnected";

export interface IngestStatus {
  state: IngestState;
  /** Epoch ms of the last fetch answered by the broker (also empty ones). */
  lastFetchAt: number | null;
  running: boolean;
  connected: boolean;
  consumed: number;
  stored: number;
  deadLettered: number;
  batches: number;
  storeFailures: number;
  paused: boolean;
  lastBatchAt: string | null;
  lastError: string | null;
}

export interface DetectionStatus {
  running: boolean;
  /** Revocations waiting for a derivation from scratch (lib/detection/derivation.ts). */
  pendingDerivations: number;
  /**
   * Revocations prepared since start, by reason (new, reinstated, grown, repaired): committed at once
   * (nothing stored acted where the change matters), and derivations from scratch requested
   * (lib/detection/prepared-counts.ts).
   */
  prepared: PreparedCounts;
  evaluations: number;
  lastEvaluationAt: string | null;
  lastError: string | null;
}

export interface RuntimeStatus {
  ingest: IngestStatus;
  detection: DetectionStatus;
}

const key = Symbol.for("revenant.runtimeStatus");
type WithStatus = typeof globalThis & { [key]?: RuntimeStatus };

export function runtimeStatus(): RuntimeStatus {
  const g = globalThis as WithStatus;
  g[key] ??= {
    ingest: {
      state: "stopped",
      lastFetchAt: null,
      running: false,
      connected: false,
      consumed: 0,
      stored: 0,
      deadLettered: 0,
      batches: 0,
      storeFailures: 0,
      paused: false,
      lastBatchAt: null,
      lastError: null,
    },
    detection: {
      running: false,
      pendingDerivations: 0,
      prepared: noPreparations(),
      evaluations: 0,
      lastEvaluationAt: null,
      lastError: null,
    },
  };
  return g[key]!;
}

/** Main thread: takes over the status the ingest thread reported (ingest/in-app.ts). */
export function adoptRuntimeStatus(reported: RuntimeStatus): void {
  const status = runtimeStatus();
  Object.assign(status.ingest, reported.ingest);
  Object.assign(status.detection, reported.detection);
}
