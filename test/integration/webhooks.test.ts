/**
 * Signed webhooks (docs/WEBHOOKS.md) against an embedded ClickHouse and a real
 * receiver on 127.0.0.1 (allowed through REVENANT_WEBHOOK_ALLOWLIST): the receiver
 * verifies every request with the reference Standard Webhooks verification, is down
 * (connection refused, then 503s, then one that hangs past the timeout) while the
 * dispatcher is restarted in the middle of its retries, and in the end holds every alert
 * change exactly once after deduplicating on webhook-id.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClickHouseClient } from "@clickhouse/client";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { AlertStore } from "@/lib/alerts/store";
import { alertBus } from "@/lib/alerts/bus";
import type { DerivedAlert } from "@/lib/detection/types";
import { alertId } from "@/lib/detection/alert-id";
import { config } from "@/lib/config";
import { closeStore, store, queryRows } from "@/lib/store/clickhouse";
import { DeliveryStore } from "@/lib/webhooks/deliveries";
import { migrate } from "@/lib/store/migrate";
import { WebhookDispatcher, eventTypeFor, webhookEvents } from "@/lib/webhooks/dispatcher";
import { call, json, TEST_API_KEY } from "../helpers/api";
import { configureTestStack, eventually } from "../helpers/stack";
import * as webhooksRoute from "@/app/api/v1/webhooks/route";
import * as deliveriesRoute from "@/app/api/v1/webhooks/[id]/deliveries/route";
import * as testRoute from "@/app/api/v1/webhooks/[id]/test/route";

interface Received {
  id: string;
  body: string;
  verified: unknown;
  path: string;
}

type Mode = "ok" | "fail" | "hang";

class Receiver {
  readonly received: Received[] = [];
  mode: Mode = "ok";
  failures = 0;
  private server: http.Server | null = null;
  port = 0;

  constructor(private readonly secrets: () => Record<string, string>) {}

  async listen(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        const secret = this.secrets()[req.url ?? ""];
        // Reference verification: throws on a bad signature, a stale timestamp or a missing header.
        const verified = new Webhook(secret).verify(body, headers);
        if (this.mode === "hang") return; // never answers: the sender's timeout must fire
        if (this.mode === "fail") {
          this.failures++;
          res.writeHead(503).end("busy");
          return;
        }
        this.received.push({ id: headers["webhook-id"], body, verified, path: req.url ?? "" });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  uniqueIds(path: string): Map<string, Received> {
    const m = new Map<string, Received>();
    for (const r of this.received) if (r.path === path && !m.has(r.id)) m.set(r.id, r);
    return m;
  }
}

/** The real client, with `before` run ahead of each insert (it may wait, or throw to fail the insert): the faults below. */
function withInsertHook(client: ClickHouseClient, before: (table: string) => void | Promise<void>): ClickHouseClient {
  return new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== "insert") return typeof value === "function" ? value.bind(target) : value;
      return async (params: { table: string }) => {
        await before(params.table);
        return value.call(target, params);
      };
    },
  });
}

function derived(rev: string, agent: string, overrides: Partial<DerivedAlert> = {}): DerivedAlert {
  return {
    id: alertId("post_revocation_activity", rev, agent),
    rule: "post_revocation_activity",
    severity: "high",
    revocation_id: rev,
    agent_id: agent,
    pipeline_id: "pipe-a",
    layers_enforcing: [],
    layers_leaking: ["tool"],
    violation_count: 1,
    first_violation_at: "2026-11-01T12:00:00.000Z",
    last_violation_at: "2026-11-01T12:00:00.000Z",
    sample_event_ids: ["e1"],
    ...overrides,
  };
}

describe("webhook delivery", () => {
  const secrets: Record<string, string> = {};
  const receiver = new Receiver(() => secrets);
  const alerts = () => new AlertStore(store().writer);
  const running: WebhookDispatcher[] = [];
  /** Registers an endpoint through the route; the receiver verifies its requests with the secret. */
  const endpointAt = async (port: number, path: string): Promise<string> => {
    const res = await call(webhooksRoute.POST as never, "/api/v1/webhooks", { method: "POST", body: { url: `http://127.0.0.1:${port}${path}` } });
    expect(res.status).toBe(201);
    const e = await json(res);
    secrets[path] = e.secret;
    return e.id;
  };
  /** Raises an alert of `rev` for `agent` and waits until the receiver got it at `path`. */
  const raiseAndReceive = async (rev: string, agent: string, path: string, what: string): Promise<void> => {
    const raised = derived(rev, agent);
    alertBus().emit("changes", await alerts().reconcile(rev, [raised]));
    await eventually(async () => [...receiver.uniqueIds(path).values()].some((r) => (r.verified as { alert: { id: string } }).alert.id === raised.id), 20_000, what);
  };

  beforeAll(async () => {
    configureTestStack({
      REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY,
      REVENANT_WEBHOOK_ALLOWLIST: "127.0.0.1",
      // Fast retries for the test; production defaults are 5 s doubling to 1 h, for 25 h.
      REVENANT_WEBHOOK_BACKOFF_BASE_MS: "100",
      REVENANT_WEBHOOK_BACKOFF_MAX_MS: "400",
      REVENANT_WEBHOOK_POLL_MS: "100",
      REVENANT_WEBHOOK_TIMEOUT_MS: "800",
    });
    await migrate(store().writer);
    await receiver.listen();
  });
  afterAll(async () => {
    for (const d of running) await d.stop();
    await receiver.close();
    await closeStore();
  });

  it("delivers every alert change exactly once (by webhook-id) through downtime, timeouts and a dispatcher restart", async () => {
    // Two endpoints: everything, and critical-only.
    const mk = async (path: string, extra: Record<string, unknown> = {}) => {
      const res = await call(webhooksRoute.POST as never, "/api/v1/webhooks", { method: "POST", body: { url: `http://127.0.0.1:${receiver.port}${path}`, ...extra } });
      expect(res.status).toBe(201);
      const e = await json(res);
      expect(e.secret).toMatch(/^whsec_/);
      secrets[path] = e.secret;
      return e;
    };
    const all = await mk("/all");
    await mk("/critical", { min_severity: "critical" });
    const listed = await json(await call(webhooksRoute.GET as never, "/api/v1/webhooks"));
    expect(JSON.stringify(listed)).not.toContain(all.secret);

    // The receiver goes down: connection refused.
    const port = receiver.port;
    await receiver.close();

    const dispatcherA = new WebhookDispatcher({ reader: store().reader, writer: store().writer });
    running.push(dispatcherA);
    await dispatcherA.start();
    const failedAttempts: string[] = [];
    const onAttempt = (e: { result: { ok: boolean; error: string } }) => !e.result.ok && failedAttempts.push(e.result.error);
    webhookEvents().on("attempt", onAttempt);

    // Alert changes: 4 raised (one critical), 2 updated, 1 resolved, 1 withdrawn.
    const emit = (h: unknown) => alertBus().emit("changes", h as never);
    emit(await alerts().reconcile("rev-1", [derived("rev-1", "a1"), derived("rev-1", "a2", { severity: "critical" }), derived("rev-1", "a3")]));
    emit(await alerts().reconcile("rev-2", [derived("rev-2", "b1")]));
    emit(await alerts().reconcile("rev-1", [derived("rev-1", "a1", { violation_count: 2 }), derived("rev-1", "a2", { severity: "critical", violation_count: 5 }), derived("rev-1", "a3")]));
    await alerts().setStatus(derived("rev-1", "a1").id, "resolved", "analyst@example.com");
    // b1 is withdrawn once its creation is on record: the creation is still delivered, the
    // withdrawal is not (an alert withdrawn before the dispatcher saw it is never announced).
    await eventually(
      async () => (await queryRows(store().reader, "test", "SELECT 1 FROM webhook_deliveries WHERE alert_id = {a:String}", { a: derived("rev-2", "b1").id })).length > 0,
      10_000,
      "b1's delivery recorded",
    );
    emit(await alerts().reconcile("rev-2", []));

    await eventually(async () => failedAttempts.filter((e) => e === "ECONNREFUSED").length >= 6, 20_000, "attempts refused while the receiver is down");

    // Restart in the middle of the retries: stop A, change more while nothing runs, start B.
    await dispatcherA.stop();
    emit(await alerts().reconcile("rev-3", [derived("rev-3", "c1", { severity: "critical" })]));
    await alerts().setStatus(derived("rev-1", "a3").id, "acknowledged", "analyst@example.com");

    // Up again, but answering 503 for a while, then hanging past the timeout.
    await receiver.listen(port);
    receiver.mode = "fail";
    const dispatcherB = new WebhookDispatcher({ reader: store().reader, writer: store().writer });
    running.push(dispatcherB);
    await dispatcherB.start();
    await eventually(async () => receiver.failures >= 5, 20_000, "503 answers");
    receiver.mode = "hang";
    await eventually(async () => failedAttempts.some((e) => e.startsWith("timeout")), 20_000, "a timed-out attempt");
    receiver.mode = "ok";

    // Expected: one delivery per non-withdrawn change per matching endpoint.
    const history = await queryRows<{ alert_id: string; seq: number; kind: string }>(store().reader, "test", "SELECT alert_id, seq, kind FROM alert_history ORDER BY seq");
    const sendable = history.filter((h) => eventTypeFor(h.kind) !== null);
    expect(sendable.length).toBe(9); // created a1 a2 a3 b1 c1, updated a1 a2, acknowledged a3, resolved a1
    const criticalIds = new Set([derived("rev-1", "a2").id, derived("rev-3", "c1").id]);
    const expectCritical = sendable.filter((h) => criticalIds.has(h.alert_id)).length;

    await eventually(async () => receiver.uniqueIds("/all").size >= sendable.length && receiver.uniqueIds("/critical").size >= expectCritical, 30_000, "every delivery");
    await new Promise((r) => setTimeout(r, 500)); // anything extra would arrive now
    await dispatcherB.stop();
    webhookEvents().off("attempt", onAttempt);

    const got = receiver.uniqueIds("/all");
    expect(got.size).toBe(sendable.length);
    const payloads = [...got.values()].map((r) => r.verified as { type: string; alert: { id: string; severity: string } });
    const types = payloads.map((p) => p.type).sort();
    expect(types).toEqual(sendable.map((h) => eventTypeFor(h.kind)!).sort());
    expect(types.filter((t) => t === "alert.created")).toHaveLength(5);
    expect(types.filter((t) => t === "alert.updated")).toHaveLength(3);
    expect(types.filter((t) => t === "alert.resolved")).toHaveLength(1);
    expect(payloads.filter((p) => p.alert.id === derived("rev-2", "b1").id).map((p) => p.type)).toEqual(["alert.created"]);
    // Redelivered copies (if any) carry the same body as the first.
    for (const r of receiver.received) expect(r.body).toBe(got.get(r.id)?.body ?? receiver.uniqueIds("/critical").get(r.id)!.body);

    const crit = [...receiver.uniqueIds("/critical").values()].map((r) => r.verified as { alert: { severity: string } });
    expect(crit).toHaveLength(expectCritical);
    expect(crit.every((p) => p.alert.severity === "critical")).toBe(true);

    // Every attempt is visible per endpoint: failures first, then the success, same webhook-id throughout.
    const page = await json(await call(deliveriesRoute.GET as never, `/api/v1/webhooks/${all.id}/deliveries?limit=100`, { params: { id: all.id } }));
    expect(page.items).toHaveLength(sendable.length);
    for (const d of page.items) {
      expect(d.status).toBe("succeeded");
      expect(d.attempt_log.length).toBe(d.attempts);
      expect(d.attempt_log.at(-1).outcome).toBe("succeeded");
      expect(d.delivered_at).not.toBeNull();
    }
    const retried = page.items.filter((d: { attempts: number }) => d.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
    const errors = retried.flatMap((d: { attempt_log: { error: string }[] }) => d.attempt_log.map((a) => a.error));
    expect(errors).toContain("ECONNREFUSED");
    expect(errors).toContain("HTTP 503");

    // "Send test" reaches the receiver, signed, and is listed.
    const test = await json(await call(testRoute.POST as never, `/api/v1/webhooks/${all.id}/test`, { method: "POST", params: { id: all.id } }));
    expect(test).toMatchObject({ ok: true, status_code: 204 });
    expect((receiver.received.at(-1)!.verified as { type: string }).type).toBe("webhook.test");
  });

  it("sends a change with its own figures when the dispatcher reads it before its alert row is written", async () => {
    const path = "/race";
    const created = await call(webhooksRoute.POST as never, "/api/v1/webhooks", { method: "POST", body: { url: `http://127.0.0.1:${receiver.port}${path}` } });
    expect(created.status).toBe(201);
    secrets[path] = (await json(created)).secret;
    const dispatcher = new WebhookDispatcher({ reader: store().reader, writer: store().writer });
    running.push(dispatcher);
    await dispatcher.start();
    const emit = (h: unknown) => alertBus().emit("changes", h as never);
    const sent = (type: string) =>
      [...receiver.uniqueIds(path).values()]
        .map((r) => r.verified as { type: string; alert: { id: string; violation_count: number; last_violation_at: string } })
        .filter((p) => p.alert.id === derived("rev-race", "r1").id && p.type === type);

    emit(await alerts().reconcile("rev-race", [derived("rev-race", "r1")]));
    await eventually(async () => sent("alert.created").length === 1, 10_000, "the alert's creation");

    // The next change writes its history row (the outbox) and then its alert row; the alert
    // row is held back here, so that a dispatcher pass runs in between, as under load.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slowAlertRows = withInsertHook(store().writer, async (table) => {
      if (table === "alerts") await held;
    });
    const update = new AlertStore(slowAlertRows).reconcile("rev-race", [
      derived("rev-race", "r1", { violation_count: 7, last_violation_at: "2026-11-01T12:05:00.000Z" }),
    ]);
    await eventually(
      async () => (await queryRows(store().reader, "test", "SELECT 1 FROM alert_history WHERE alert_id = {a:String} AND kind = 'updated'", { a: derived("rev-race", "r1").id })).length > 0,
      10_000,
      "the update's history row",
    );
    dispatcher.kick(true);
    await dispatcher.idle();
    // Not sent with the figures of the alert row before it (1 violation).
    expect(sent("alert.updated")).toEqual([]);

    release();
    emit(await update);
    await eventually(async () => sent("alert.updated").length === 1, 10_000, "the update, once its alert row is written");
    expect(sent("alert.updated")[0].alert).toMatchObject({ violation_count: 7, last_violation_at: "2026-11-01T12:05:00.000Z" });
    await dispatcher.stop();
  });

  it("announces only the changes that took effect when an alert row's insert fails after its history row", async () => {
    const path = "/half-written";
    await endpointAt(receiver.port, path);
    const dispatcher = new WebhookDispatcher({ reader: store().reader, writer: store().writer });
    running.push(dispatcher);
    await dispatcher.start();
    // A writer whose next insert into `alerts` fails: the change's history row (the outbox) is
    // written, its alert row is not.
    const failingOnce = () => {
      let failed = false;
      return new AlertStore(
        withInsertHook(store().writer, (table) => {
          if (table === "alerts" && !failed) {
            failed = true;
            throw new Error("connection reset while inserting");
          }
        }),
      );
    };
    const emit = (h: unknown) => alertBus().emit("changes", h as never);
    const alert = derived("rev-half", "h1");
    const sent = () =>
      [...receiver.uniqueIds(path).values()].map((r) => r.verified as { type: string; alert: { id: string; status: string; violation_count: number } }).filter((p) => p.alert.id === alert.id);

    // The raise fails half-way; the publisher's retry raises the alert again.
    await expect(failingOnce().reconcile("rev-half", [alert])).rejects.toThrow("connection reset");
    emit(await alerts().reconcile("rev-half", [alert]));
    // An analyst resolves it: the history row is written, the alert row is not (the PATCH fails).
    await expect(failingOnce().setStatus(alert.id, "resolved", "analyst@example.com")).rejects.toThrow("connection reset");
    // Detection updates the alert later: its row is newer than the failed status change.
    emit(await alerts().reconcile("rev-half", [{ ...alert, violation_count: 3, last_violation_at: "2026-11-01T12:03:00.000Z" }]));
    // Resolving twice (a double click) changes the status once.
    await alerts().setStatus(alert.id, "acknowledged", "analyst@example.com");
    await alerts().setStatus(alert.id, "acknowledged", "analyst@example.com");
    dispatcher.kick(true);
    await eventually(async () => sent().filter((p) => p.type === "alert.updated").length === 2, 10_000, "the update and the acknowledgement");
    dispatcher.kick(true);
    await dispatcher.idle();

    const history = await alerts().history(alert.id);
    expect(history.map((h) => h.kind)).toEqual(["raised", "raised", "resolved", "updated", "acknowledged"]);
    // One creation, no resolution (the alert was never resolved), the update and one acknowledgement.
    expect(sent().map((p) => p.type).sort()).toEqual(["alert.created", "alert.updated", "alert.updated"]);
    expect(sent().filter((p) => p.type === "alert.updated" && p.alert.status === "acknowledged").length).toBeGreaterThan(0);
    expect((await alerts().get(alert.id))!.status).toBe("acknowledged");
    await dispatcher.stop();
  });

  it("backs off an endpoint whose secret cannot be decrypted while the other endpoints receive theirs", async () => {
    const broken = await endpointAt(receiver.port, "/sealed-away");
    // Its secret as if sealed with a key that is no longer configured (REVENANT_SECRET_KEY changed).
    await store().writer.command({
      query: `INSERT INTO webhook_endpoints SELECT * REPLACE ('enc:v1:0badc0de:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' AS secret, version + 1 AS version)
              FROM webhook_endpoints FINAL WHERE id = {id:String}`,
      query_params: { id: broken },
    });
    const dispatcher = new WebhookDispatcher({ reader: store().reader, writer: store().writer });
    running.push(dispatcher);
    await dispatcher.start();
    // More deliveries to the broken endpoint than the dispatcher sends at once (16), all older
    // than the one the healthy endpoint waits for.
    const brokenAlerts = Array.from({ length: 20 }, (_, i) => derived("rev-sealed", `s${i}`));
    alertBus().emit("changes", await alerts().reconcile("rev-sealed", brokenAlerts));
    const brokenDeliveries = () =>
      queryRows<{ status: string; attempts: number; last_error: string; next_attempt_at: string }>(
        store().reader,
        "test",
        "SELECT status, attempts, last_error, next_attempt_at FROM webhook_deliveries FINAL WHERE endpoint_id = {e:String} AND alert_id IN {a:Array(String)}",
        { e: broken, a: brokenAlerts.map((a) => a.id) },
      );
    await eventually(async () => (await brokenDeliveries()).length === brokenAlerts.length, 10_000, "the broken endpoint's deliveries");

    await endpointAt(receiver.port, "/healthy");
    await raiseAndReceive("rev-sealed-later", "h1", "/healthy", "the healthy endpoint's delivery");
    // Each of the broken endpoint's deliveries failed without being sent, and waits for its next attempt.
    await eventually(async () => (await brokenDeliveries()).every((d) => d.attempts >= 1), 10_000, "an attempt of each broken delivery");
    for (const d of await brokenDeliveries()) {
      expect(d.last_error).toMatch(/cannot be decrypted/);
      expect(d.status).toBe("pending");
    }
    expect(receiver.received.filter((r) => r.path === "/sealed-away")).toEqual([]);
    await dispatcher.stop();
  });

  it("keeps slots for other endpoints while one receiver hangs with many deliveries due", async () => {
    // Only the two endpoints below: the earlier tests' endpoints are switched off.
    await store().writer.command({ query: "INSERT INTO webhook_endpoints SELECT * REPLACE (false AS enabled, version + 1 AS version) FROM webhook_endpoints FINAL" });
    const hanging = new Receiver(() => secrets);
    hanging.mode = "hang";
    await hanging.listen();
    try {
      const stuck = await endpointAt(hanging.port, "/stuck");
      const dispatcher = new WebhookDispatcher({ reader: store().reader, writer: store().writer });
      running.push(dispatcher);
      await dispatcher.start();
      // More deliveries to the hanging receiver than the dispatcher runs at once (16): each
      // attempt holds its slot until the timeout (800 ms here): 120 of them last ~12 s at 8 slots,
      // time enough for a slow host to raise and deliver the other endpoint's alert.
      const backlog = Array.from({ length: 120 }, (_, i) => derived("rev-backlog", `b${i}`));
      alertBus().emit("changes", await alerts().reconcile("rev-backlog", backlog));
      const stuckAttempts = async () =>
        (await queryRows<{ n: number }>(store().reader, "test", "SELECT count() AS n FROM webhook_attempts WHERE endpoint_id = {e:String}", { e: stuck }))[0].n;
      await eventually(async () => (await stuckAttempts()) > 0, 10_000, "the hanging receiver's first timeouts");

      await endpointAt(receiver.port, "/beside-the-stuck");
      await raiseAndReceive("rev-backlog-later", "x1", "/beside-the-stuck", "the other endpoint's delivery");
      // Sent before the hanging receiver's backlog had each had its first attempt: it got a
      // slot of its own instead of waiting behind the older deliveries.
      expect(Number(await stuckAttempts())).toBeLessThan(backlog.length);
      await dispatcher.stop();
    } finally {
      await hanging.close();
    }
  });

  it("gives every version of a delivery the same TTL, so that none outlives the others (no condition on the status)", async () => {
    // A delivery's versions (pending, then succeeded or failed) may sit in parts no merge has
    // joined yet. A TTL that dropped only the finished versions left the pending one, which
    // FINAL then showed as due: the webhook went out again on day 30. (Applying the TTL to
    // unmerged parts cannot be shown here: the engine runs TTL and merges in one pool.)
    const [{ ttl }] = await queryRows<{ ttl: string }>(
      store().reader,
      "test",
      "SELECT extract(create_table_query, 'TTL (.*?)(?: SETTINGS |$)') AS ttl FROM system.tables WHERE database = currentDatabase() AND name = 'webhook_deliveries'",
    );
    expect(ttl).toMatch(/^toDateTime\(created_at\) \+ toIntervalDay\(30\)$/);
    // Nor is a pending version that old ever due: the TTL may have dropped its later versions.
    const deliveries = new DeliveryStore(store().reader, store().writer);
    const aged = (id: string, days: number) => ({
      endpoint_id: "ep-aged", id, alert_id: "alert-aged", seq: 1, type: "alert.created", payload: "{}", status: "pending", attempts: 3,
      created_at: new Date(Date.now() - days * 86_400_000).toISOString(), change_at: new Date().toISOString(), next_attempt_at: new Date(Date.now() - 1_000).toISOString(),
      first_sent_at: null, delivered_at: null, last_status_code: null, last_error: "", last_duration_ms: null,
    });
    await deliveries.record([aged("msg_aged_29_5_days", 29.5), aged("msg_aged_28_days", 28)] as never);
    // Every due delivery, the earlier tests' backlogs included.
    const due = (await deliveries.due(10_000, [])).map((d) => d.id).filter((id) => id.startsWith("msg_aged"));
    expect(due).toEqual(["msg_aged_28_days"]);
    await deliveries.save({ ...aged("msg_aged_28_days", 28), status: "cancelled" } as never);
  });

  it("holds back a delivery whose attempt could not be saved, instead of sending it again and again at once", async () => {
    const path = "/unsaved";
    await endpointAt(receiver.port, path);
    // The store takes reads but refuses the attempts' writes (a full disk, say).
    let refusing = true;
    const refusingWrites = withInsertHook(store().writer, (table) => {
      if (refusing && table === "webhook_attempts") throw new Error("not enough space on the disk");
    });
    const dispatcher = new WebhookDispatcher({ cfg: { ...config(), REVENANT_WEBHOOK_BACKOFF_BASE_MS: 3_000 }, reader: store().reader, writer: refusingWrites });
    running.push(dispatcher);
    await dispatcher.start();
    const raised = derived("rev-unsaved", "u1");
    alertBus().emit("changes", await alerts().reconcile("rev-unsaved", [raised]));
    // This alert's delivery only: a new dispatcher's first pass may also find older changes for the new endpoint.
    const sends = () => receiver.received.filter((r) => r.path === path && (r.verified as { alert: { id: string } }).alert.id === raised.id).length;
    await eventually(async () => sends() >= 1, 10_000, "the first attempt");
    // Polled every 100 ms here: without the hold it went out again on every pass.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(sends()).toBe(1);
    refusing = false;
    // Every delivery the new endpoint holds back (its first pass found older changes too) goes
    // out again after the hold, this one among them: on a loaded host that takes a while.
    await eventually(async () => sends() >= 2, 30_000, "the attempt after the hold");
    const delivery = async () =>
      (await queryRows<{ status: string }>(store().reader, "test", "SELECT status FROM webhook_deliveries FINAL WHERE endpoint_id IN (SELECT id FROM webhook_endpoints FINAL WHERE url LIKE {u:String}) AND alert_id = {a:String}", { u: `%${path}`, a: raised.id }))[0]?.status;
    await eventually(async () => (await delivery()) === "succeeded", 10_000, "the delivery saved as succeeded");
    expect(sends()).toBe(2);
    await dispatcher.stop();
  });

  it("refuses private and metadata addresses when an endpoint is created", async () => {
    for (const url of ["http://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook", "http://[::ffff:192.168.0.1]/x", "ftp://127.0.0.1/x", "http://user:pw@127.0.0.1/x"]) {
      const res = await call(webhooksRoute.POST as never, "/api/v1/webhooks", { method: "POST", body: { url } });
      expect(res.status, url).toBe(400);
      expect((await json(res)).error.param).toBe("url");
    }
  });
});
