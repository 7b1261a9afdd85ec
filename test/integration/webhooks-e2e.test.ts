/**
 * The whole path in one process, as `npm start` runs it, with the worker in its own thread
 * (ingest/in-app.ts): events on Kafka → consumer → detection → alert_history → the webhook job
 * registered in ingest/jobs.ts → a signed POST to a receiver. The webhook endpoint is created
 * and an alert acknowledged by this (main) thread, as the route handlers would; the fallback
 * poll is ten minutes, so deliveries go out only when the alert bus wakes the dispatcher,
 * across the threads for the acknowledgement. Also checks that the first-admin job ran at
 * worker start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Producer } from "kafkajs";
import { Webhook } from "standardwebhooks";
import { startWorkerInApp, type IngestThread } from "@/ingest/in-app";
import * as alertRoute from "@/app/api/v1/alerts/[id]/route";
import { UserStore } from "@/lib/auth/users";
import { config } from "@/lib/config";
import { closeStore } from "@/lib/store/clickhouse";
import { webhookEvents, type AttemptEvent } from "@/lib/webhooks/dispatcher";
import { EndpointStore } from "@/lib/webhooks/endpoints";
import { call, TEST_API_KEY } from "../helpers/api";
import { actionEvent, configureTestStack, eventually, produceJson, testProducer } from "../helpers/stack";
import { store } from "@/lib/store/clickhouse";

describe("alerts leave as signed webhooks, end to end", () => {
  let worker: IngestThread;
  let producer: Producer;
  let server: http.Server;
  let secret = "";
  const received: { at: number; payload: { type: string; alert: { id: string; agent_id: string; rule: string; severity: string; status: string } } }[] = [];
  /** The dispatcher's attempt events, announced in its thread, heard in this one. */
  const attempts: AttemptEvent[] = [];
  const onAttempt = (a: AttemptEvent) => attempts.push(a);

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        const payload = new Webhook(secret).verify(Buffer.concat(chunks).toString(), headers) as (typeof received)[number]["payload"];
        received.push({ at: Date.now(), payload });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    configureTestStack({
      REVENANT_ROLES: "web,worker",
      REVENANT_WEBHOOK_ALLOWLIST: "127.0.0.1",
      REVENANT_WEBHOOK_POLL_MS: "600000",
      REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY,
      REVENANT_ADMIN_EMAIL: "first@example.com",
      REVENANT_ADMIN_PASSWORD: "first-admin-password",
    });
    webhookEvents().on("attempt", onAttempt);
    worker = await (await startWorkerInApp())!.started;
    producer = await testProducer();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await worker?.stop();
    webhookEvents().off("attempt", onAttempt);
    process.removeAllListeners("SIGTERM");
    process.removeAllListeners("SIGINT");
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await closeStore();
  });

  it("creates the first admin at worker start", async () => {
    const u = await new UserStore(store().reader, store().writer).byEmailWithHash("first@example.com");
    expect(u?.role).toBe("admin");
  });

  it("delivers a signed alert.created for an action after revocation, through the whole pipeline", async () => {
    const e = await new EndpointStore(store().reader, store().writer).create(
      { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, description: "", min_severity: "high", rules: [], pipelines: [], enabled: true },
      "test",
    );
    secret = e.secret;
    const revTime = Date.UTC(2026, 10, 2, 9, 0, 0);
    await produceJson(producer, config().KAFKA_TOPIC, [
      { event_id: "e2e-rev", type: "revocation", time: new Date(revTime).toISOString(), revocation: { scope: "agent", subject: "agent-e2e", reason: "test" } },
    ]);
    await produceJson(producer, config().KAFKA_TOPIC, [actionEvent({ agent_id: "agent-e2e", time: new Date(revTime + 1_000).toISOString(), action: "secret.read" })]);
    const hit = (await eventually(async () => received.find((r) => r.payload.alert.agent_id === "agent-e2e"), 20_000, "the webhook"))!;
    expect(hit.payload.type).toBe("alert.created");
    expect(hit.payload.alert.rule).toBe("post_revocation_activity");
    expect(hit.payload.alert.severity).toBe("critical");
    // Latency is measured by `npm run bench:detect`, not asserted here (noisy 2-core machines).
    await eventually(async () => attempts.some((a) => a.delivery.alert_id === hit.payload.alert.id && a.result.ok), 10_000, "the attempt event from the worker's thread");

    // An analyst's acknowledgement, made on this thread: only the bus wakes the dispatcher in
    // the other thread before its ten-minute poll.
    const ack = await call(alertRoute.PATCH, `/api/v1/alerts/${hit.payload.alert.id}`, { method: "PATCH", body: { status: "acknowledged" }, params: { id: hit.payload.alert.id } });
    expect(ack.status).toBe(200);
    const acked = (await eventually(async () => received.find((r) => r.payload.alert.id === hit.payload.alert.id && r.payload.alert.status === "acknowledged"), 20_000, "the acknowledgement's webhook"))!;
    expect(acked.payload.type).toBe("alert.updated");
  });
});
