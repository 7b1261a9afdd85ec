/**
 * Evidence integrity, against the real broker, the real worker (consumer and detection) and
 * the real embedded engine: the first copy of an event_id is the one stored; a later copy
 * with other content, via Kafka or via POST /api/v1/events, in a later batch or in the same
 * one, is kept aside as a conflict and never reaches detection; an identical redelivery
 * changes nothing; every event says how it arrived, and a submitter header that the app did
 * not sign is not believed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import type { Producer } from "kafkajs";
import { ApiKeyStore } from "@/lib/auth/keys";
import { config } from "@/lib/config";
import { closeSharedProducer } from "@/lib/kafka";
import type { RouteHandler } from "@/lib/http/route";
import type { EventDetail } from "@/lib/queries/event-detail";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { startWorker, type Worker } from "@/ingest/worker";
import { configureTestStack, count, testProducer, waitUntilConsumed } from "../helpers/stack";

const API = path.resolve(__dirname, "../../app/api/v1");
const route = async (p: string) => (await import(path.join(API, p, "route.ts"))) as Record<string, RouteHandler>;

const AGENT = "agent-evidence";
const REVOKED_AT = Date.UTC(2026, 10, 1, 12, 0, 0);
const at = (offsetMs: number) => new Date(REVOKED_AT + offsetMs).toISOString();
const HOUR = 3_600_000;

/** An action of the revoked agent: allowed before the revocation, a violation after it. */
const action = (id: string, offsetMs: number, extra: Record<string, unknown> = {}) => ({
  event_id: id,
  type: "action",
  time: at(offsetMs),
  agent_id: AGENT,
  layer: "tool",
  action: "execute_tool",
  resource: "payments",
  decision: "allow",
  ...extra,
});

let worker: Worker;
let producer: Producer;
let produced = 0;
const keys = {} as Record<"first" | "second" | "viewer", { key: string; id: string }>;

async function produce(messages: { value: string; key?: string; headers?: Record<string, string> }[], partition?: number) {
  await producer.send({ topic: config().KAFKA_TOPIC, messages: messages.map((m) => ({ key: AGENT, ...m, partition })) });
  produced += messages.length;
}

async function post(key: string, body: unknown): Promise<Response> {
  const res = await (await route("events")).POST(
    new Request("http://localhost/api/v1/events", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
  if (res.status === 202) produced += Array.isArray(body) ? body.length : 1;
  return res;
}

async function detail(key: string, id: string): Promise<Response> {
  return (await route("events/[event_id]")).GET(
    new Request(`http://localhost/api/v1/events/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${key}` } }),
    // As Next.js hands it over: decoded once from the path.
    { params: Promise.resolve({ event_id: id }) },
  );
}

const storedCopies = (id: string) =>
  queryRows<{ time: string; resource: string; kafka_topic: string; submitted_by: string }>(
    store().reader,
    "test",
    "SELECT time, resource, kafka_topic, submitted_by FROM events FINAL WHERE event_id = {id:String}",
    { id },
  );
const pairsOf = (id: string) => count("SELECT count() FROM post_revocation_actions FINAL WHERE event_id = {id:String}", { id });
const conflictsOf = (id: string) => count("SELECT count() FROM event_conflicts FINAL WHERE event_id = {id:String}", { id });

beforeAll(async () => {
  configureTestStack();
  await migrate(store().writer);
  const keyStore = new ApiKeyStore(store().reader, store().writer);
  for (const [name, role] of [["first", "analyst"], ["second", "analyst"], ["viewer", "viewer"]] as const) {
    const { key, apiKey } = await keyStore.create({ name, role, createdBy: "test" });
    keys[name] = { key, id: apiKey.id };
  }
  worker = await startWorker({ cfg: config() });
  producer = await testProducer();
  const revocation = { event_id: "rev-evidence", type: "revocation", time: at(0), revocation: { scope: "agent", subject: AGENT, reason: "test" } };
  await produce([{ value: JSON.stringify(revocation) }]);
});

afterAll(async () => {
  await producer?.disconnect();
  await worker?.stop();
  await closeSharedProducer();
  await closeStore();
});

describe("first copy wins", () => {
  it("keeps a later Kafka copy with other content aside, and detection never sees it", async () => {
    const first = JSON.stringify(action("ev-kafka", -HOUR));
    await produce([{ value: first }]);
    await waitUntilConsumed(produced);
    // The same id, now after the revocation: if it replaced the first, it would be a violation.
    // Indented, so that only the message as received (not the decoded row) matches below.
    const conflicting = JSON.stringify(action("ev-kafka", HOUR, { resource: "rewritten" }), null, 2);
    await produce([{ value: conflicting }]);
    // A control event after the revocation shows that detection did run on this batch.
    await produce([{ value: JSON.stringify(action("ev-control", HOUR)) }]);
    await waitUntilConsumed(produced);

    expect(await storedCopies("ev-kafka")).toEqual([expect.objectContaining({ time: at(-HOUR), resource: "payments" })]);
    expect(await conflictsOf("ev-kafka")).toBe(1);
    const [kept] = await queryRows<{ payload: string }>(store().reader, "test", "SELECT payload FROM event_conflicts FINAL WHERE event_id = 'ev-kafka'");
    expect(kept.payload).toBe(conflicting);
    expect(await pairsOf("ev-kafka")).toBe(0);
    expect(await pairsOf("ev-control")).toBe(1);
  });

  it("ignores an identical redelivery: no conflict, no second row, provenance of the first", async () => {
    const value = JSON.stringify(action("ev-repeat", -HOUR));
    await produce([{ value }], 0);
    await waitUntilConsumed(produced);
    await produce([{ value }], 1);
    await waitUntilConsumed(produced);

    const [detail_] = await queryRows<{ n: number; partition: number }>(
      store().reader,
      "test",
      "SELECT count() AS n, any(kafka_partition) AS partition FROM events WHERE event_id = 'ev-repeat'",
    );
    expect(Number(detail_.n)).toBe(1);
    expect(detail_.partition).toBe(0);
    expect(await conflictsOf("ev-repeat")).toBe(0);
  });

  it("lets the first copy by Kafka order win within one batch", async () => {
    await produce(
      [
        { value: JSON.stringify(action("ev-batch", -HOUR)) },
        { value: JSON.stringify(action("ev-batch", 2 * HOUR, { resource: "second" })) },
        { value: JSON.stringify(action("ev-batch", 3 * HOUR, { resource: "third" })) },
        { value: JSON.stringify(action("ev-batch", -HOUR)) },
      ],
      2,
    );
    await waitUntilConsumed(produced);

    expect(await storedCopies("ev-batch")).toEqual([expect.objectContaining({ time: at(-HOUR), resource: "payments" })]);
    expect(await conflictsOf("ev-batch")).toBe(2);
    expect(await pairsOf("ev-batch")).toBe(0);
  });

  it("finds the first copy of an id with tabs, line breaks and backslashes", async () => {
    const id = "ev-odd\tid\nwith\\slashes";
    await produce([{ value: JSON.stringify(action(id, -HOUR)) }]);
    await waitUntilConsumed(produced);
    await produce([{ value: JSON.stringify(action(id, HOUR)) }, { value: JSON.stringify(action(id, -HOUR)) }]);
    await waitUntilConsumed(produced);

    expect(await storedCopies(id)).toEqual([expect.objectContaining({ time: at(-HOUR) })]);
    expect(await conflictsOf(id)).toBe(1);
    expect(await pairsOf(id)).toBe(0);
  });

  it("keeps a later HTTP copy aside too, and shows the first with its submitter and the conflict with its own", async () => {
    expect((await post(keys.first.key, action("ev-http", -HOUR))).status).toBe(202);
    await waitUntilConsumed(produced);
    expect((await post(keys.second.key, action("ev-http", HOUR, { decision: "deny" }))).status).toBe(202);
    await waitUntilConsumed(produced);

    expect(await storedCopies("ev-http")).toEqual([expect.objectContaining({ time: at(-HOUR), submitted_by: `api_key:${keys.first.id}` })]);
    expect(await pairsOf("ev-http")).toBe(0);

    const res = await detail(keys.first.key, "ev-http");
    expect(res.status).toBe(200);
    const body = (await res.json()) as EventDetail;
    expect(body.event).toMatchObject({ event_id: "ev-http", time: at(-HOUR), decision: "allow" });
    expect(body.provenance).toMatchObject({ via: "http", submitted_by: `api_key:${keys.first.id}`, kafka: { topic: config().KAFKA_TOPIC } });
    expect(body.provenance.content_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(body.conflicts).toHaveLength(1);
    expect(body.conflicts[0]).toMatchObject({ submitted_by: `api_key:${keys.second.id}`, kafka: { topic: config().KAFKA_TOPIC } });
    expect(JSON.parse(body.conflicts[0].payload)).toMatchObject({ event_id: "ev-http", decision: "deny", time: at(HOUR) });
    expect(body.conflicts[0].content_hash).not.toBe(body.provenance.content_hash);
  });

  it("stamps Kafka events with topic, partition and offset, and does not believe an unsigned submitter header", async () => {
    await produce([{ value: JSON.stringify(action("ev-forged", -HOUR)), headers: { "revenant-submitted-by": `api_key:${keys.first.id}` } }], 1);
    await waitUntilConsumed(produced);

    const body = (await (await detail(keys.first.key, "ev-forged")).json()) as EventDetail;
    expect(body.provenance).toMatchObject({ via: "kafka", submitted_by: null, kafka: { topic: config().KAFKA_TOPIC, partition: 1 } });
    expect(Number(body.provenance.kafka.offset)).toBeGreaterThanOrEqual(0);
    expect(body.conflicts).toEqual([]);
  });

  it("answers 404 for an unknown id and 403 to a viewer", async () => {
    expect((await detail(keys.first.key, "no-such-event")).status).toBe(404);
    expect((await detail(keys.viewer.key, "ev-http")).status).toBe(403);
  });
});
