/**
 * The whole path in one process, as `npm start` runs it: events on Kafka → consumer →
 * detection → alert_history → the webhook job registered in ingest/jobs.ts → a signed
 * POST to a receiver. Also checks that the first-admin job ran at worker start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Producer } from "kafkajs";
import { Webhook } from "standardwebhooks";
import { startWorker, type Worker } from "@/ingest/worker";
import { workerJobs } from "@/ingest/jobs";
import { UserStore } from "@/lib/auth/users";
import { config } from "@/lib/config";
import { closeStore } from "@/lib/store/clickhouse";
import { EndpointStore } from "@/lib/webhooks/endpoints";
import { actionEvent, configureTestStack, eventually, produceJson, testProducer } from "../helpers/stack";
import { store } from "@/lib/store/clickhouse";

describe("alerts leave as signed webhooks, end to end", () => {
  let worker: Worker;
  let producer: Producer;
  let server: http.Server;
  let secret = "";
  const received: { at: number; payload: { type: string; alert: { agent_id: string; rule: string; severity: string } } }[] = [];

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
      REVENANT_WEBHOOK_ALLOWLIST: "127.0.0.1",
      REVENANT_ADMIN_EMAIL: "first@example.com",
      REVENANT_ADMIN_PASSWORD: "first-admin-password",
    });
    worker = await startWorker({ jobs: workerJobs() });
    producer = await testProducer();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await worker?.stop();
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
  });
});
