/**
 * The Kafka broker stopped for 30 s in the middle of a stream, then restarted: the worker
 * recovers by itself and nothing is lost or duplicated; meanwhile health says degraded,
 * POST /api/v1/events and POST /v1/traces answer 503 with Retry-After, and after recovery health is ok again
 * with no stale error.
 *
 * This file stops a broker, so it runs its own on FAULT_KAFKA_PORT (TEST_KAFKA_PORT + 5 by
 * default) and leaves the shared test broker alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { config } from "@/lib/config";
import { closeSharedProducer, createKafka } from "@/lib/kafka";
import { FeedMirror } from "@/lib/feed/mirror";
import { closeStore } from "@/lib/store/clickhouse";
import { runtimeStatus } from "@/lib/runtime-status";
import { startWorker, type Worker } from "@/ingest/worker";
import * as eventsRoute from "@/app/api/v1/events/route";
import * as healthRoute from "@/app/api/v1/health/route";
import * as tracesRoute from "@/app/v1/traces/route";
import { actionEvent, configureTestStack, count, eventually, testProducer, waitUntilConsumed } from "../helpers/stack";
import { call, TEST_API_KEY } from "../helpers/api";

const port = process.env.FAULT_KAFKA_PORT ?? String(Number(process.env.TEST_KAFKA_PORT ?? 19092) + 5);
type Broker = { startBroker(): Promise<void>; stopBroker(): Promise<void> };

describe("a Kafka outage mid-stream", () => {
  let broker: Broker;
  let worker: Worker;
  let producer: Producer;
  let mirror: FeedMirror;
  const feedTopic = `test.outage.feed.${Date.now()}`;

  beforeAll(async () => {
    process.env.KAFKA_PORT = port;
    // @ts-expect-error plain .mjs script without types
    broker = (await import("../../scripts/kafka/broker.mjs")) as Broker;
    await broker.startBroker();
    configureTestStack({ KAFKA_BROKERS: `127.0.0.1:${port}`, REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY, INGEST_FLUSH_MS: "50" });
    producer = await testProducer();
    worker = await startWorker();
    // A feed whose key was covered, tombstoned and covered again: a mirror that replays it
    // passes a moment where the key looks uncovered.
    const covered = (rev: string) =>
      JSON.stringify({
        credential_id: "tok-outage",
        covered: true,
        revocations: [{ event_id: rev, scope: "credential", subject: "tok-outage", since: "2026-01-01 00:00:00.000", via: "direct" }],
      });
    const admin = createKafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: feedTopic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    await producer.send({ topic: feedTopic, messages: [
      { key: "tok-outage", value: covered("rev-a") }, { key: "tok-outage", value: null }, { key: "tok-outage", value: covered("rev-b") },
    ] });
    mirror = new FeedMirror(createKafka(), feedTopic);
    await mirror.start();
    await eventually(async () => mirror.ready, 30_000, "the mirror caught up");
  }, 180_000);

  afterAll(async () => {
    await mirror?.stop();
    await worker?.stop();
    await producer?.disconnect();
    await closeSharedProducer();
    await closeStore();
    await broker?.stopBroker();
  }, 120_000);

  it("recovers by itself with every event stored exactly once", async () => {
    const total = 3000;
    let sent = 0;
    let failedSends = 0;
    let brokerStopped = false;
    // A client that retries each request until the broker takes it, as a real one would.
    const stream = (async () => {
      while (sent < total) {
        // The last 500 wait for the outage, however slowly the steps before it went.
        if (sent >= total - 500 && !brokerStopped) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const events = Array.from({ length: 50 }, (_, i) => actionEvent({ agent_id: `outage-${(sent + i) % 5}`, event_id: `outage-${sent + i}` }));
        try {
          await producer.send({ topic: config().KAFKA_TOPIC, messages: events.map((e) => ({ key: String(e.agent_id), value: JSON.stringify(e) })) });
          sent += events.length;
        } catch {
          failedSends++;
          await new Promise((r) => setTimeout(r, 500));
        }
        // ~250 events/s: the stream is still running when the broker stops.
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    await waitUntilConsumed(500, 60_000);
    const before = await call(eventsRoute.POST, "/api/v1/events", { method: "POST", body: actionEvent({ agent_id: "http-outage", event_id: "http-before" }) });
    expect(before.status).toBe(202);

    await broker.stopBroker();
    brokerStopped = true;
    const stoppedAt = Date.now();
    const refused = await call(eventsRoute.POST, "/api/v1/events", { method: "POST", body: actionEvent({ agent_id: "http-outage", event_id: "http-during" }) });
    console.info(`POST while the broker is down answered ${refused.status} after ${Date.now() - stoppedAt} ms`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(await refused.json()).toEqual({ error: { code: "kafka_unavailable", message: expect.stringMatching(/Kafka is not reachable/) } });
    // OTLP/HTTP the same, in OTLP's shape: 503 (retryable for exporters; a 500 is not) with Retry-After.
    const exported = await tracesRoute.POST(new Request("http://localhost/v1/traces", {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", name: "execute_tool x", startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n) }] }] }] }),
    }));
    expect(exported.status).toBe(503);
    expect(exported.headers.get("retry-after")).toBe("5");
    expect(await exported.json()).toEqual({ code: 14, message: expect.stringMatching(/^kafka_unavailable: /) });
    const health = await call(healthRoute.GET, "/api/v1/health", { auth: null });
    expect(health.status).toBe(503);
    expect((await health.json()).status).toBe("degraded");
    await eventually(async () => runtimeStatus().ingest.state === "disconnected", 60_000, "the consumer noticing the outage");
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - stoppedAt))));

    // The mirror stopped following: lookups must go to the coverage table, not its map.
    await eventually(async () => !mirror.ready, 30_000, "the mirror no longer ready");
    await broker.startBroker();
    await stream;
    // The client that got 503 repeats its request once Kafka is back.
    const retried = await eventually(async () => {
      const res = await call(eventsRoute.POST, "/api/v1/events", { method: "POST", body: actionEvent({ agent_id: "http-outage", event_id: "http-during" }) });
      return res.status === 202 ? res : null;
    }, 60_000, "POST accepted again");
    expect(retried!.status).toBe(202);

    await waitUntilConsumed(total + 2, 120_000);
    expect(await count("SELECT count() FROM events FINAL WHERE startsWith(agent_id, 'outage-')")).toBe(total);
    expect(await count("SELECT uniqExact(event_id) FROM events WHERE startsWith(agent_id, 'outage-')")).toBe(total);
    expect(await count("SELECT count() FROM events FINAL WHERE agent_id = 'http-outage'")).toBe(2);
    expect(await count("SELECT count() FROM dead_letters FINAL")).toBe(0);
    console.info(`${failedSends} produce requests failed during the outage and were repeated`);

    // Recovered by itself: consuming again, error cleared, health ok.
    await eventually(async () => {
      const res = await call(healthRoute.GET, "/api/v1/health", { auth: null });
      return res.status === 200 && (await res.json()).status === "ok";
    }, 60_000, "health ok again");
    expect(runtimeStatus().ingest).toMatchObject({ state: "consuming", lastError: null, paused: false });
    // Ready again only once it has read the feed to its end again: the key covered.
    await eventually(async () => mirror.ready, 60_000, "the mirror ready again");
    expect(mirror.status("tok-outage")).toMatchObject({ covered: true, revocations: [{ event_id: "rev-b" }] });
  }, 300_000);
});
