/**
 * What the running jobs report about themselves, for GET /api/v1/health and the UI.
 * On globalThis because the ingest worker (started from instrumentation) and the
 * route handlers live in different Next.js bundles of the same process.
 */
export interface IngestStatus {
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
  evaluations: number;
  lastEvaluationAt: string | null;
  lastError: string | null;
}

interface RuntimeStatus {
  ingest: IngestStatus;
  detection: DetectionStatus;
}

const key = Symbol.for("revenant.runtimeStatus");
type WithStatus = typeof globalThis & { [key]?: RuntimeStatus };

export function runtimeStatus(): RuntimeStatus {
  const g = globalThis as WithStatus;
  g[key] ??= {
    ingest: {
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
    detection: { running: false, pendingDerivations: 0, evaluations: 0, lastEvaluationAt: null, lastError: null },
  };
  return g[key]!;
}
