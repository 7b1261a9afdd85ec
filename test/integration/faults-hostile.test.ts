/**
 * A corpus of hostile inputs interleaved with valid events, through Kafka and through HTTP,
 * against the real broker and engine: every valid event is stored exactly once, every bad
 * Kafka message is dead-lettered with a reason, every bad HTTP body is answered 4xx with a
 * message (never 500), and bulk bodies larger than one broker request are accepted whole.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import type { Producer } from "kafkajs";
import { config } from "@/lib/config";
import { closeSharedProducer } from "@/lib/kafka";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { startWorker, type Worker } from "@/ingest/worker";
import * as eventsRoute from "@/app/api/v1/events/route";
import { actionEvent, configureTestStack, count, testProducer, waitUntilConsumed } from "../helpers/stack";
import { call, TEST_API_KEY } from "../helpers/api";

const deepArray = "[".repeat(10_000) + "]".repeat(10_000);
const deepField = (e: Record<string, unknown>) => `${JSON.stringify(e).slice(0, -1)},"x":${deepArray}}`;
const protoKey = (e: Record<string, unknown>) => `{"__proto__":{"admin":true},${JSON.stringify(e).slice(1)}`;

describe("hostile inputs", () => {
  let producer: Producer;
  let worker: Worker;
  let produced = 0;

  beforeAll(async () => {
    configureTestStack({ REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY, INGEST_FLUSH_MS: "50" });
    producer = await testProducer();
    worker = await startWorker();
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await producer?.disconnect();
    await closeSharedProducer();
    await closeStore();
  });

  it("through Kafka: stores each valid event once and dead-letters each bad message with a reason", async () => {
    const agent = "kafka-hostile";
    const bad: (string | Buffer | null)[] = [
      "{not json",
      "",
      null,
      JSON.stringify(actionEvent({ agent_id: agent, resource: "r".repeat(1024 * 1024) })),
      deepArray,
      deepField(actionEvent({ agent_id: agent })),
      protoKey(actionEvent({ agent_id: agent })),
      Buffer.concat([Buffer.from('{"event_id":"nul'), Buffer.from([0]), Buffer.from('"}')]),
      JSON.stringify(actionEvent({ agent_id: agent, time: "2026-13-45T00:00:00Z" })),
      JSON.stringify(actionEvent({ agent_id: agent, time: "2300-01-01T00:00:00Z" })),
      JSON.stringify(actionEvent({ agent_id: agent, time: -1 })),
      JSON.stringify(actionEvent({ agent_id: agent, time: 1e20 })),
      JSON.stringify(actionEvent({ agent_id: agent, event_id: "lone-\ud800" })),
      // The reason names the field, lone surrogate and all: it must still be recordable.
      JSON.stringify(actionEvent({ agent_id: agent, attributes: { "k\ud800": { nested: 1 } } })),
      randomBytes(512),
      Buffer.from([0xc3, 0x28, 0xa0, 0xa1]),
    ];
    const valid = Array.from({ length: bad.length + 1 }, (_, i) =>
      // A NUL character inside a string is valid JSON and valid Unicode: stored as sent.
      actionEvent({ agent_id: agent, resource: i === 0 ? "nul\u0000inside" : `r-${i}` }),
    );
    const messages = valid.flatMap((v, i) => [JSON.stringify(v), ...(i < bad.length ? [bad[i]] : [])]);
    for (const value of messages) await producer.send({ topic: config().KAFKA_TOPIC, messages: [{ key: agent, value }] });
    produced += messages.length;
    await waitUntilConsumed(produced, 60_000);

    expect(await count("SELECT count() FROM events FINAL WHERE agent_id = {a:String}", { a: agent })).toBe(valid.length);
    expect(await count("SELECT uniqExact(event_id) FROM events WHERE agent_id = {a:String}", { a: agent })).toBe(valid.length);
    expect(await count("SELECT count() FROM events FINAL WHERE resource = {r:String}", { r: "nul\u0000inside" })).toBe(1);
    const letters = await queryRows<{ reason: string }>(store().reader, "test", "SELECT reason FROM dead_letters FINAL ORDER BY offset");
    expect(letters).toHaveLength(bad.length);
    const reasons = letters.map((l) => l.reason);
    expect(reasons.every((r) => r.length > 0)).toBe(true);
    expect(reasons).toEqual([
      expect.stringMatching(/^invalid JSON/),
      "empty message",
      "empty message",
      expect.stringMatching(/exceeds 1 MiB/),
      "schema: a message must be one JSON object",
      expect.stringMatching(/stack size|nest/i),
      expect.stringMatching(/__proto__/),
      expect.stringMatching(/^invalid JSON/),
      expect.stringMatching(/^schema: time/),
      expect.stringMatching(/^schema: time/),
      expect.stringMatching(/^schema: time/),
      expect.stringMatching(/^schema: time/),
      expect.stringMatching(/event_id: not valid Unicode/),
      expect.stringMatching(/^schema: attributes\.k\ufffd/),
      "not valid UTF-8",
      "not valid UTF-8",
    ]);
  }, 120_000);

  it("through HTTP: answers every bad body 4xx with a message and stores every valid event once", async () => {
    const agent = "http-hostile";
    const post = (rawBody: string | Uint8Array) =>
      call(eventsRoute.POST, "/api/v1/events", { method: "POST", rawBody: rawBody as string });
    const big = (i: number) => actionEvent({ agent_id: agent, attributes: { blob: `${i}`.padEnd(900_000, "r") } });
    const bodies: [string, string | Uint8Array, number][] = [
      ["invalid JSON", "{oops", 400],
      ["empty body", "", 400],
      ["empty array", "[]", 400],
      ["10,000 levels", deepArray, 400],
      ["10,000 levels in a field", deepField(actionEvent({ agent_id: agent })), 400],
      ["1 MB string", JSON.stringify(actionEvent({ agent_id: agent, resource: "r".repeat(1024 * 1024) })), 422],
      ["__proto__", protoKey(actionEvent({ agent_id: agent })), 422],
      ["raw NUL byte", Buffer.concat([Buffer.from('{"event_id":"nul'), Buffer.from([0]), Buffer.from('"}')]).toString("latin1"), 400],
      ["month 13", JSON.stringify(actionEvent({ agent_id: agent, time: "2026-13-45T00:00:00Z" })), 422],
      ["year 2300", JSON.stringify(actionEvent({ agent_id: agent, time: "2300-01-01T00:00:00Z" })), 422],
      ["negative epoch", JSON.stringify(actionEvent({ agent_id: agent, time: -1 })), 422],
      ["huge epoch", JSON.stringify(actionEvent({ agent_id: agent, time: 1e20 })), 422],
      ["lone surrogate id", JSON.stringify(actionEvent({ agent_id: agent, event_id: "lone-\ud800" })), 422],
      ["binary garbage", randomBytes(512).toString("latin1"), 400],
      ["null", "null", 422],
    ];
    let stored = 0;
    for (const [what, body, status] of bodies) {
      const res = await post(body);
      const answer = (await res.json()) as { error?: { message?: string } };
      expect({ what, status: res.status }).toEqual({ what, status });
      expect(answer.error?.message, what).toBeTruthy();
      // A valid event between hostile ones is accepted.
      const ok = await post(JSON.stringify(actionEvent({ agent_id: agent })));
      expect(ok.status, `valid event after ${what}`).toBe(202);
      stored++;
    }
    // Bulk bodies over one broker request (2 MiB per partition): 6,000 small events of one
    // agent, and three 0.9 MB events.
    const many = Array.from({ length: 6000 }, () => actionEvent({ agent_id: agent, resource: "x".repeat(300) }));
    const manyRes = await post(JSON.stringify(many));
    expect(manyRes.status).toBe(202);
    expect(await manyRes.json()).toEqual({ accepted: 6000, rejected: 0, errors: [] });
    const bigRes = await post(JSON.stringify([big(1), big(2), big(3)]));
    expect(bigRes.status).toBe(202);
    expect(await bigRes.json()).toEqual({ accepted: 3, rejected: 0, errors: [] });
    stored += 6003;
    produced += stored;

    await waitUntilConsumed(produced, 90_000);
    expect(await count("SELECT count() FROM events FINAL WHERE agent_id = {a:String}", { a: agent })).toBe(stored);
    expect(await count("SELECT uniqExact(event_id) FROM events WHERE agent_id = {a:String}", { a: agent })).toBe(stored);
    expect(await count("SELECT count() FROM events FINAL WHERE agent_id = {a:String} AND length(attributes['blob']) = 900000", { a: agent })).toBe(3);
    // Rejected HTTP bodies are answered, not dead-lettered (docs/SEMANTICS.md).
    expect(await count("SELECT count() FROM dead_letters FINAL WHERE origin = 'http'")).toBe(0);
  }, 180_000);
});
