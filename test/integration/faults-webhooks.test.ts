/**
 * A webhook receiver that is down (answering 503, then refusing connections) while the
 * worker process (ingest/main.ts: ingest, detection and webhook delivery) is killed with
 * SIGKILL twice with deliveries pending: once it is back, it receives every alert change
 * exactly once per webhook-id, on each of two endpoints. "Down for minutes" is shortened by
 * the retry settings (REVENANT_WEBHOOK_BACKOFF_*), which the production defaults stretch
 * to 5 s doubling up to an hour.
 * The engine's data directory belongs to one process at a time: the test reads it only
 * while no worker runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Producer } from "kafkajs";
import { Webhook } from "standardwebhooks";
import { AlertStore } from "@/lib/alerts/store";
import { createKafka, ensureTopics } from "@/lib/kafka";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { deliveryId } from "@/lib/webhooks/deliveries";
import { eventTypeFor } from "@/lib/webhooks/dispatcher";
import { EndpointStore, endpointMatches, type EndpointWithSecret } from "@/lib/webhooks/endpoints";
import { actionEvent, committedOffsets, configureTestStack, eventually, produceJson, testProducer, type TestStack } from "../helpers/stack";
import { exited, startWorkerProcess } from "../helpers/faults";

type Mode = "busy" | "ok";

/** Verifies every request with the reference Standard Webhooks code; counts refusals and receipts per webhook-id. */
class Receiver {
  mode: Mode = "busy";
  readonly refused = new Map<string, number>();
  readonly received = new Map<string, number>();
  private server: http.Server | null = null;
  port = 0;
  constructor(private readonly secrets: Map<string, string>) {}

  async listen(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        new Webhook(this.secrets.get(req.url ?? "")!).verify(Buffer.concat(chunks).toString("utf8"), headers);
        const id = `${req.url} ${headers["webhook-id"]}`;
        const tally = this.mode === "ok" ? this.received : this.refused;
        tally.set(id, (tally.get(id) ?? 0) + 1);
        res.writeHead(this.mode === "ok" ? 204 : 503).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

const REVOKED_AT = Date.UTC(2026, 10, 3, 9, 0, 0);
const revocation = (agent: string) => ({
  event_id: `rev-${agent}`,
  type: "revocation",
  time: new Date(REVOKED_AT).toISOString(),
  revocation: { scope: "agent", subject: agent, reason: "test" },
});
const violation = (agent: string, n: number) => actionEvent({ agent_id: agent, event_id: `act-${agent}-${n}`, time: new Date(REVOKED_AT + 1_000 * n).toISOString(), action: "secret.read" });

/** Every webhook-id the alert changes stored so far call for, as `<path> <webhook-id>`. */
async function expectedDeliveries(endpoints: EndpointWithSecret[]): Promise<Set<string>> {
  const alerts = new AlertStore(store().writer);
  const changes = await queryRows<{ alert_id: string; seq: number; kind: string }>(store().reader, "test", "SELECT alert_id, seq, kind FROM alert_history");
  const out = new Set<string>();
  for (const c of changes) {
    if (eventTypeFor(c.kind) === null) continue;
    const alert = await alerts.get(c.alert_id);
    if (!alert) continue;
    for (const e of endpoints) if (endpointMatches(e, alert)) out.add(`${new URL(e.url).pathname} ${deliveryId(e.id, c.alert_id, c.seq)}`);
  }
  return out;
}

describe("webhook receiver down while the worker is killed with deliveries pending", () => {
  let stack: TestStack;
  let producer: Producer;
  const secrets = new Map<string, string>();
  const receiver = new Receiver(secrets);
  const endpoints: EndpointWithSecret[] = [];
  let produced = 0;
  const produce = async (events: unknown[]) => {
    await produceJson(producer, stack.topic, events);
    produced += events.length;
  };

  beforeAll(async () => {
    await receiver.listen();
    stack = configureTestStack({
      KAFKA_SESSION_TIMEOUT_MS: "6000",
      REVENANT_WEBHOOK_ALLOWLIST: "127.0.0.1",
      REVENANT_WEBHOOK_BACKOFF_BASE_MS: "200",
      REVENANT_WEBHOOK_BACKOFF_MAX_MS: "1000",
      REVENANT_WEBHOOK_POLL_MS: "100",
      REVENANT_WEBHOOK_TIMEOUT_MS: "2000",
      REVENANT_ALERT_UPDATE_INTERVAL_MS: "0",
    });
    await migrate(store().writer);
    await ensureTopics(createKafka());
    for (const path of ["/a", "/b"]) {
      const e = await new EndpointStore(store().reader, store().writer).create(
        { url: `http://127.0.0.1:${receiver.port}${path}`, description: path, min_severity: "high", rules: [], pipelines: [], enabled: true },
        "test",
      );
      secrets.set(path, e.secret);
      endpoints.push(e);
    }
    await closeStore();
    producer = await testProducer();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await receiver.close();
    await closeStore();
  });

  it("delivers every alert change exactly once per webhook-id after it returns", async () => {
    // 1. The receiver answers 503; the worker raises alerts and retries them, and is killed mid-retries.
    const first = startWorkerProcess(stack);
    await produce(["wh-0", "wh-1", "wh-2"].map(revocation));
    await produce(["wh-0", "wh-1", "wh-2"].map((a) => violation(a, 1)));
    await eventually(async () => receiver.refused.size >= 6 && [...receiver.refused.values()].some((n) => n >= 2), 90_000, "retries refused by the receiver");
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1_000)));
    first.kill("SIGKILL");
    expect(await exited(first)).toBeNull();

    // 2. The receiver is gone (connection refused); new changes arrive; the worker is killed again.
    await receiver.close();
    await produce([revocation("wh-3"), violation("wh-3", 1), ...["wh-0", "wh-1"].map((a) => violation(a, 2))]);
    const second = startWorkerProcess(stack);
    await eventually(async () => (await committedOffsets()) >= produced, 90_000, `${produced} events consumed`);
    await new Promise((r) => setTimeout(r, 1_000 + Math.floor(Math.random() * 2_000)));
    second.kill("SIGKILL");
    expect(await exited(second)).toBeNull();

    const pendingBefore = await expectedDeliveries(endpoints);
    await closeStore();
    expect(pendingBefore.size).toBeGreaterThanOrEqual(2 * 4);
    const receivedWhileDown = receiver.received.size;

    // 3. The receiver is back on the same address; a third worker delivers what is pending.
    receiver.mode = "ok";
    await receiver.listen();
    const third = startWorkerProcess(stack);
    await eventually(async () => [...pendingBefore].every((id) => receiver.received.has(id)), 120_000, "every pending delivery received");
    third.kill("SIGTERM");
    expect(await exited(third)).toBe(0);

    const expected = await expectedDeliveries(endpoints);
    const undelivered = await queryRows<{ n: number }>(
      store().reader,
      "test",
      "SELECT count() AS n FROM webhook_deliveries FINAL WHERE status != 'succeeded'",
    );
    console.info(`alert changes × endpoints: ${expected.size}; refused attempts while down: ${[...receiver.refused.values()].reduce((a, b) => a + b, 0)}`);
    expect(receivedWhileDown).toBe(0);
    expect(new Set(receiver.received.keys())).toEqual(expected);
    expect([...receiver.received.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(Number(undelivered[0].n)).toBe(0);
  }, 360_000);
});
