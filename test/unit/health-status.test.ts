/** How health judges this process's ingest worker (lib/health.ts). */
import { describe, expect, it } from "vitest";
import { ingestHealth, STALE_FETCH_MS } from "@/lib/health";
import type { IngestStatus } from "@/lib/runtime-status";

const now = Date.UTC(2026, 0, 1);
const status = (over: Partial<IngestStatus>): IngestStatus => ({
  state: "consuming", lastFetchAt: now, running: true, connected: true, consumed: 0, stored: 0, deadLettered: 0,
  batches: 0, storeFailures: 0, paused: false, lastBatchAt: null, lastError: null, ...over,
});

describe("ingest health", () => {
  it("is ok only while consuming, fetching and not paused", () => {
    expect(ingestHealth(status({}), true, now)).toBe("ok");
    expect(ingestHealth(status({ state: "starting" }), true, now)).toBe("starting");
    expect(ingestHealth(status({ state: "disconnected", connected: false }), true, now)).toBe("degraded");
    expect(ingestHealth(status({ state: "stopped" }), true, now)).toBe("degraded");
    expect(ingestHealth(status({ paused: true }), true, now)).toBe("degraded");
    expect(ingestHealth(status({ lastFetchAt: now - STALE_FETCH_MS - 1 }), true, now)).toBe("degraded");
  });

  it("has no opinion in a process without the worker role", () => {
    expect(ingestHealth(status({ state: "stopped" }), false, now)).toBeNull();
  });
});
