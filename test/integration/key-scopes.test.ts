/**
 * API key scopes on POST /api/v1/events, against the real route, the real Kafka broker
 * and the real embedded ClickHouse: a telemetry key cannot post revocations or
 * reinstatements, what was refused never reaches Kafka, what was accepted carries who
 * posted it, and every request is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import type { Consumer } from "kafkajs";
import { ApiKeyStore } from "@/lib/auth/keys";
import { config } from "@/lib/config";
import { closeSharedProducer, createKafka, ensureTopics } from "@/lib/kafka";
import { resetRateLimits } from "@/lib/http/rate-limit";
import type { RouteHandler } from "@/lib/http/route";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { actionEvent, configureTestStack, eventually } from "../helpers/stack";

const API = path.resolve(__dirname, "../../app/api/v1");
const route = async (p: string) => (await import(path.join(API, p, "route.ts"))) as Record<string, RouteHandler>;

const post = async (key: string, body: unknown) =>
  (await route("events")).POST(
    new Request("http://localhost/api/v1/events", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) }),
  );

const revocation = (id: string) => ({ event_id: id, type: "revocation", time: "2026-11-01T12:00:00.000Z", revocation: { scope: "agent", subject: "agent-test", reason: "test" } });
const reinstatement = (id: string) => ({ event_id: id, type: "reinstatement", time: "2026-11-01T13:00:00.000Z", revocation: { scope: "agent", subject: "agent-test" } });

let consumer: Consumer;
const produced: { event_id: string; type: string; by: string }[] = [];
const keys = {} as Record<"telemetry" | "revoker" | "admin", { key: string; id: string }>;

beforeAll(async () => {
  configureTestStack();
  await migrate(store().writer);
  await ensureTopics(createKafka(config(), "-test-admin"));
  const store_ = new ApiKeyStore(store().reader, store().writer);
  for (const [name, role, scopes] of [
    ["telemetry", "analyst", undefined],
    ["revoker", "analyst", ["ingest:telemetry", "ingest:revocation"]],
    ["admin", "admin", undefined],
  ] as const) {
    const { key, apiKey } = await store_.create({ name, role, createdBy: "test", scopes: scopes ? [...scopes] : undefined });
    keys[name] = { key, id: apiKey.id };
  }
  consumer = createKafka(config(), "-test-reader").consumer({ groupId: `${config().KAFKA_GROUP_ID}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic: config().KAFKA_TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const e = JSON.parse(message.value!.toString()) as { event_id: string; type: string };
      produced.push({ event_id: e.event_id, type: e.type, by: String(message.headers?.["revenant-submitted-by"] ?? "") });
    },
  });
});

afterAll(async () => {
  await consumer?.disconnect();
  await closeSharedProducer();
  await closeStore();
});

describe("API key scopes on POST /api/v1/events", () => {
  it("gives new keys telemetry only, and lists their scopes", async () => {
    const listed = (await new ApiKeyStore(store().reader, store().writer).list({ limit: 1000 })).items;
    expect(listed.find((k) => k.name === "telemetry")!.scopes).toEqual(["ingest:telemetry"]);
    expect(listed.find((k) => k.name === "revoker")!.scopes).toEqual(["ingest:telemetry", "ingest:revocation"]);
    const bad = await (await route("keys")).POST(
      new Request("http://localhost/api/v1/keys", {
        method: "POST",
        headers: { authorization: `Bearer ${keys.admin.key}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "x", role: "analyst", scopes: ["ingest:everything"] }),
      }),
    );
    expect(bad.status).toBe(400);
  });

  it("refuses, item by item, the revocations and reinstatements of a key that may post actions only", async () => {
    resetRateLimits();
    const action = actionEvent({ event_id: "scoped-action-1" });
    const res = await post(keys.telemetry.key, [action, revocation("scoped-rev-1"), reinstatement("scoped-rei-1")]);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ accepted: 1, rejected: 2 });
    expect(body.errors).toEqual([
      { index: 1, event_id: "scoped-rev-1", reason: expect.stringMatching(/^scope: .*revocation.*ingest:revocation/) },
      { index: 2, event_id: "scoped-rei-1", reason: expect.stringMatching(/^scope: .*reinstatement.*ingest:reinstatement/) },
    ]);
    // Nothing allowed at all: 403.
    const none = await post(keys.telemetry.key, [revocation("scoped-rev-2")]);
    expect(none.status).toBe(403);
    expect((await none.json()).error.code).toBe("forbidden");
  });

  it("lets a key granted revocations post them, admin keys post everything, and stamps each message with its poster", async () => {
    expect((await (await post(keys.revoker.key, [revocation("scoped-rev-3"), reinstatement("scoped-rei-3")])).json())).toMatchObject({ accepted: 1, rejected: 1 });
    expect((await (await post(keys.admin.key, [revocation("scoped-rev-4"), reinstatement("scoped-rei-4")])).json())).toMatchObject({ accepted: 2, rejected: 0 });
    await eventually(async () => produced.length >= 4, 30_000, "four accepted events on Kafka");
    await new Promise((r) => setTimeout(r, 500)); // anything refused would have arrived with them
    expect(produced.sort((a, b) => a.event_id.localeCompare(b.event_id))).toEqual([
      { event_id: "scoped-action-1", type: "action", by: `api_key:${keys.telemetry.id}` },
      { event_id: "scoped-rei-4", type: "reinstatement", by: `api_key:${keys.admin.id}` },
      { event_id: "scoped-rev-3", type: "revocation", by: `api_key:${keys.revoker.id}` },
      { event_id: "scoped-rev-4", type: "revocation", by: `api_key:${keys.admin.id}` },
    ]);
  });

  it("audits every ingest request with its principal and counts", async () => {
    const rows = await queryRows<{ actor_id: string; details: string }>(store().reader, "test", "SELECT actor_id, details FROM audit_log WHERE action = 'events.ingest' ORDER BY at");
    const seen = rows.map((r) => ({ actor: r.actor_id, ...JSON.parse(r.details) }));
    expect(seen).toEqual([
      { actor: keys.telemetry.id, accepted: 1, rejected: 2, refused_by_scope: 2, types: { action: 1 } },
      { actor: keys.telemetry.id, accepted: 0, refused_by_scope: 1 },
      { actor: keys.revoker.id, accepted: 1, rejected: 1, refused_by_scope: 1, types: { revocation: 1 } },
      { actor: keys.admin.id, accepted: 2, rejected: 0, refused_by_scope: 0, types: { revocation: 1, reinstatement: 1 } },
    ]);
  });
});
