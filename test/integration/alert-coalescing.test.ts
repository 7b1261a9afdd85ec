/**
 * Alerts under a storm: while a revoked agent keeps acting, detection updates its alert on
 * every batch, but growing counts are announced (alert history = webhook outbox) at most once
 * per interval, with the latest counts. Creation, severity changes, status changes and
 * re-opening go out at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratedStore } from "../helpers/store";
import { type Store } from "@/lib/store/clickhouse";
import { AlertStore } from "@/lib/alerts/store";
import { alertId } from "@/lib/detection/alert-id";
import { DetectionEngine } from "@/lib/detection/engine";
import type { DerivedAlert } from "@/lib/detection/types";

const INTERVAL_MS = 30_000;

function derived(count: number, severity: "high" | "critical" = "high", revocation = "storm-rev"): DerivedAlert {
  return {
    id: alertId("post_revocation_activity", revocation, "storm-agent"),
    rule: "post_revocation_activity",
    severity,
    revocation_id: revocation,
    agent_id: "storm-agent",
    pipeline_id: null,
    layers_enforcing: [],
    layers_leaking: ["tool"],
    violation_count: count,
    first_violation_at: "2026-01-01T00:00:01.000Z",
    last_violation_at: new Date(Date.UTC(2026, 0, 1, 0, 0, count)).toISOString(),
    sample_event_ids: ["e1"],
  };
}

describe("alert updates are coalesced under a storm", () => {
  let s: Store;
  beforeAll(async () => {
    s = await migratedStore("storm");
  });
  afterAll(async () => s.close());

  it("announces growth at most once per interval, with the latest counts", async () => {
    // A clock the test moves: what counts is the interval, not how fast this machine is.
    let now = Date.UTC(2026, 10, 1, 12, 0, 0);
    const alerts = new AlertStore(s.writer, { updateIntervalMs: INTERVAL_MS, clock: () => now });
    const id = derived(1).id;
    const kinds = (changes: { kind: string; violation_count: number }[]) => changes.map((c) => `${c.kind}:${c.violation_count}`);

    expect(kinds(await alerts.reconcile("storm-rev", [derived(1)]))).toEqual(["raised:1"]);
    // Twenty batches of a storm within the interval: the row follows, nothing is announced.
    for (let n = 2; n <= 21; n++) {
      now += 1_000;
      expect(await alerts.reconcile("storm-rev", [derived(n)])).toEqual([]);
    }
    expect((await alerts.get(id))?.violation_count).toBe(21);
    expect(await alerts.flushOwedUpdates()).toEqual([]); // not due yet

    // A severity change is not held back.
    expect(kinds(await alerts.reconcile("storm-rev", [derived(22, "critical")]))).toEqual(["updated:22"]);
    expect(await alerts.reconcile("storm-rev", [derived(30, "critical")])).toEqual([]);

    now += INTERVAL_MS - 1;
    expect(await alerts.flushOwedUpdates()).toEqual([]); // one ms short of the interval
    now += 1;
    expect(kinds(await alerts.flushOwedUpdates())).toEqual(["updated:30"]);
    expect(await alerts.flushOwedUpdates()).toEqual([]); // owed once, announced once

    // An analyst's status change goes out at once; new violations re-open at once.
    await alerts.setStatus(id, "acknowledged", "analyst@example.com");
    expect(kinds(await alerts.reconcile("storm-rev", [derived(31, "critical")]))).toEqual(["reopened:31"]);

    const history = await alerts.history(id);
    expect(history.map((h) => `${h.kind}:${h.violation_count}`)).toEqual(["raised:1", "updated:22", "updated:30", "acknowledged:30", "reopened:31"]);
  });

  it("leaves the updates owed to the worker that delivers (REVENANT_DELIVERY): another would announce them again", async () => {
    const interval = 200;
    // Both reconciles at one moment: the second is owed however long the first one's writes take.
    const t0 = Date.now();
    const alerts = new AlertStore(s.writer, { updateIntervalMs: interval, clock: () => t0 });
    const id = derived(1, "high", "quiet-rev").id;
    await alerts.reconcile("quiet-rev", [derived(1, "high", "quiet-rev")]);
    expect(await alerts.reconcile("quiet-rev", [derived(2, "high", "quiet-rev")])).toEqual([]); // owed
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + interval + 50 - Date.now())));
    const settings = { graceMs: 0, layerGraceMs: {} };
    const announced: string[] = [];
    const detecting = new DetectionEngine(s.writer, settings, (c) => announced.push(...c.map((x) => x.kind)), { updateIntervalMs: interval, announcesOwedUpdates: false });
    await detecting.tick();
    expect(announced).toEqual([]);
    expect((await alerts.history(id)).map((h) => h.kind)).toEqual(["raised"]);
    const delivering = new DetectionEngine(s.writer, settings, (c) => announced.push(...c.map((x) => x.kind)), { updateIntervalMs: interval });
    await delivering.tick();
    expect(announced).toEqual(["updated"]);
    expect((await alerts.history(id)).map((h) => `${h.kind}:${h.violation_count}`)).toEqual(["raised:1", "updated:2"]);
  });
});
