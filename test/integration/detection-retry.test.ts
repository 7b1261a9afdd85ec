/**
 * A revocation whose evaluation fails (ClickHouse hiccup) is not lost: the engine keeps it
 * and retries, and the alert appears once the store answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { parseConfig } from "@/lib/config";
import { createStore, queryRows, type Store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { validateEvent, type StoredEvent } from "@/lib/events/schema";
import { DetectionEngine } from "@/lib/detection/engine";
import { EventWriter } from "@/ingest/event-writer";

function events(wire: Record<string, unknown>[]): StoredEvent[] {
  return wire.map((w) => {
    const r = validateEvent(w);
    if (!r.ok) throw new Error(r.reason);
    return r.event;
  });
}

describe("detection retries what failed", () => {
  let s: Store;
  beforeAll(async () => {
    s = createStore(parseConfig({ REVENANT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "revenant-retry-")) }));
    await migrate(s.writer);
  });
  afterAll(async () => s.close());

  it("keeps a failed revocation and evaluates it on retry", async () => {
    let failPairs = 2;
    // The real client, except that its first two pair queries fail like a dropped connection.
    const flaky = new Proxy(s.writer, {
      get(target, prop, receiver) {
        if (prop === "query") {
          return async (params: Parameters<ClickHouseClient["query"]>[0]) => {
            if (params.clickhouse_settings?.log_comment === "detection:pairs:direct" && failPairs-- > 0) {
              throw new Error("socket hang up");
            }
            return target.query(params);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const batch = events([
      { event_id: "r-rev", type: "revocation", time: "2026-01-01T00:00:00Z", revocation: { scope: "agent", subject: "r-agent" } },
      { event_id: "r-act", type: "action", time: "2026-01-01T00:00:01Z", agent_id: "r-agent", layer: "tool", action: "execute_tool", decision: "allow" },
    ]);
    await new EventWriter(s.writer).write(batch.map((e, i) => ({ ...e, kafka_partition: 0, kafka_offset: String(i) })));
    const engine = new DetectionEngine(flaky, { graceMs: 0, layerGraceMs: {} });

    await engine.onEvents(batch); // fails: the revocation is kept
    expect(engine.failedCount()).toBe(1);
    expect(engine.lastError).toMatch(/socket hang up/);
    await engine.retryFailed(); // fails again
    expect(engine.failedCount()).toBe(1);
    await engine.retryFailed(); // the store answers
    expect(engine.failedCount()).toBe(0);
    expect(engine.lastError).toBeNull();
    const alerts = await queryRows<{ rule: string; agent_id: string }>(s.reader, "test", "SELECT rule, agent_id FROM alerts FINAL");
    expect(alerts).toEqual([{ rule: "post_revocation_activity", agent_id: "r-agent" }]);
  });
});
