/**
 * The SSF transmitter (lib/transmitter/) through the real pipeline, against receivers written with
 * jose: revocations on Kafka → detection → coverage → CAEP SETs, pushed (RFC 8935) to a local
 * receiver that is down at first while the worker restarts, and polled (RFC 8936). Every SET's
 * signature (from the JWKS), typ, iss, aud and txn are verified; each expected SET arrives,
 * none beyond its jti.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Producer } from "kafkajs";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import { ApiKeyStore } from "@/lib/auth/keys";
import { config, resetConfig } from "@/lib/config";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { resetTransmitter } from "@/lib/transmitter";
import { CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED, POLL, PUSH, SSF_VERIFICATION } from "@/lib/transmitter/streams";
import { ssfPushJob } from "@/ingest/jobs";
import { startWorker, type Worker } from "@/ingest/worker";
import { configureTestStack, eventually, produceJson, testProducer, waitUntilConsumed } from "../helpers/stack";
import * as wellKnown from "@/app/.well-known/ssf-configuration/route";
import * as jwksRoute from "@/app/ssf/jwks/route";
import * as streamsRoute from "@/app/api/v1/transmitter/streams/route";
import * as verifyRoute from "@/app/api/v1/transmitter/verify/route";
import * as pollRoute from "@/app/ssf/poll/[stream_id]/route";
import * as notifiedRoute from "@/app/api/v1/revocations/[event_id]/notifications/route";
import * as statusRoute from "@/app/api/v1/transmitter/streams/status/route";
import * as subjectsAdd from "@/app/api/v1/transmitter/subjects/add/route";
import * as subjectsRemove from "@/app/api/v1/transmitter/subjects/remove/route";

const ISSUER = "https://revenant.test";
const at = (s: number) => new Date(Date.UTC(2026, 10, 1, 12, 0, s)).toISOString();
let n = 0;
const id = (p: string) => `${p}-${++n}`;
const issued = (agent: string, cred: string, parent: string | undefined, s: number, session?: string) => ({
  event_id: id("iss"), type: "credential_issued", time: at(s), agent_id: agent, ...(session ? { session_id: session } : {}),
  credential: { id: cred, kind: "oauth_token", ...(parent ? { parent_id: parent } : {}) },
});
const revoke = (eventId: string, scope: string, subject: string, s: number) => ({
  event_id: eventId, type: "revocation", time: at(s), revocation: { scope, subject, cascade: true, reason: "test", initiated_by: "test" },
});

/** A push receiver that answers 503 while `down`, 202 otherwise, and keeps every body it was sent. */
function receiver() {
  const state = { down: true, received: [] as { body: string; type: string | undefined; authorization: string | undefined; status: number }[] };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const status = state.down ? 503 : 202;
      state.received.push({ body, type: req.headers["content-type"], authorization: req.headers.authorization, status });
      res.writeHead(status).end();
    });
  });
  return { state, server };
}

describe("SSF transmitter", () => {
  let producer: Producer;
  let worker: Worker;
  let admin: string;
  let sent = 0;
  const push = receiver();
  let pushUrl = "";
  const send = async (events: unknown[]) => {
    await produceJson(producer, config().KAFKA_TOPIC, events);
    sent += events.length;
  };
  const call = (h: (req: Request, ctx: { params: Promise<unknown> }) => Promise<Response>, url: string, init: { method?: string; body?: unknown; token?: string; params?: object } = {}) =>
    h(new Request(`http://localhost${url}`, {
      method: init.method ?? "GET",
      headers: { authorization: `Bearer ${init.token ?? admin}`, "content-type": "application/json" },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }), { params: Promise.resolve(init.params ?? {}) });
  let jwks: ReturnType<typeof createLocalJWKSet>;
  const verify = async (set: string, aud: string) => {
    expect(decodeProtectedHeader(set).typ).toBe("secevent+jwt");
    const { payload } = await jwtVerify(set, jwks, { issuer: ISSUER, audience: aud, typ: "secevent+jwt", algorithms: ["RS256"] });
    return payload as JWTPayload & { txn: string; sub_id: { format: string; id: string }; events: Record<string, Record<string, unknown>> };
  };

  beforeAll(async () => {
    const stack = configureTestStack({
      INGEST_FLUSH_MS: "20", REVENANT_PUBLIC_URL: ISSUER, REVENANT_WEBHOOK_ALLOWLIST: "127.0.0.1",
      REVENANT_WEBHOOK_BACKOFF_BASE_MS: "100", REVENANT_WEBHOOK_BACKOFF_MAX_MS: "300", REVENANT_WEBHOOK_POLL_MS: "100",
    });
    process.env.KAFKA_FEED_TOPIC = `${stack.topic}.covered`;
    resetConfig();
    resetTransmitter();
    await new Promise<void>((r) => push.server.listen(0, "127.0.0.1", r));
    pushUrl = `http://127.0.0.1:${(push.server.address() as AddressInfo).port}/events`;
    producer = await testProducer();
    worker = await startWorker({ jobs: [ssfPushJob()] });
    admin = (await new ApiKeyStore(store().reader, store().writer).create({ name: "ssf admin", role: "admin", createdBy: "test" })).key;
  });
  afterAll(async () => {
    await worker?.stop();
    await producer?.disconnect();
    push.server.close();
    await closeStore();
  });

  it("publishes its configuration and keys", async () => {
    const conf = await (await call(wellKnown.GET, "/.well-known/ssf-configuration")).json();
    expect(conf).toMatchObject({ spec_version: "1_0", issuer: ISSUER, jwks_uri: `${ISSUER}/ssf/jwks`, delivery_methods_supported: [PUSH, POLL] });
    const set = (await (await call(jwksRoute.GET, "/ssf/jwks")).json()) as JSONWebKeySet;
    expect(set.keys.length).toBeGreaterThan(0);
    expect(JSON.stringify(set)).not.toMatch(/"d":/); // public keys only
    jwks = createLocalJWKSet(set);
  });

  it("pushes a credential-change per covered credential and a session-revoked, through an outage and a restart, each jti once", async () => {
    const created = await call(streamsRoute.POST, "/api/v1/transmitter/streams", { method: "POST", body: { aud: "https://gateway.example", layer: "tool", delivery: { method: PUSH, endpoint_url: pushUrl } } });
    expect(created.status).toBe(201);
    const polled = await call(streamsRoute.POST, "/api/v1/transmitter/streams", { method: "POST", body: { aud: "poll-receiver", events_requested: [CAEP_CREDENTIAL_CHANGE], delivery: { method: POLL } } });
    const pollStream = await polled.json();
    expect(pollStream.poll_token).toMatch(/^rvs_/);
    expect(pollStream.delivery.endpoint_url).toBe(`${ISSUER}/ssf/poll/${pollStream.stream_id}`);

    await send([issued("orch", "tok-orch", undefined, 1), issued("sub-a", "tok-a", "tok-orch", 2), issued("s-agent", "tok-s", undefined, 3, "sess-1")]);
    await waitUntilConsumed(sent);
    await send([revoke("rev-orch", "agent", "orch", 10), revoke("rev-sess", "session", "sess-1", 10)]);
    await waitUntilConsumed(sent);
    // The receiver is down: attempts fail and are retried. The worker restarts meanwhile.
    await eventually(async () => push.state.received.length >= 4, 30_000, "attempts during the outage");
    await worker.stop();
    await send([issued("sub-b", "tok-b", "tok-a", 20)]); // delegated after the revocation
    worker = await startWorker({ jobs: [ssfPushJob()] });
    await waitUntilConsumed(sent);
    push.state.down = false;

    const expected = [
      `${CAEP_CREDENTIAL_CHANGE} tok-orch rev-orch`, `${CAEP_CREDENTIAL_CHANGE} tok-a rev-orch`, `${CAEP_CREDENTIAL_CHANGE} tok-b rev-orch`,
      `${CAEP_CREDENTIAL_CHANGE} tok-s rev-sess`, `${CAEP_SESSION_REVOKED} sess-1 rev-sess`,
    ].sort();
    const accepted = () => push.state.received.filter((r) => r.status === 202);
    await eventually(async () => new Set(accepted().map((r) => r.body)).size >= expected.length, 30_000, "every SET accepted");
    await new Promise((r) => setTimeout(r, 500)); // anything sent again would arrive meanwhile
    const byJti = new Map<string, string>();
    const seen: string[] = [];
    for (const r of push.state.received) {
      expect(r.type).toBe("application/secevent+jwt");
      const p = await verify(r.body, "https://gateway.example");
      const [type] = Object.keys(p.events);
      if (byJti.has(p.jti!)) expect(byJti.get(p.jti!), "a repeated jti carries the same SET").toBe(r.body);
      else {
        byJti.set(p.jti!, r.body);
        seen.push(`${type} ${p.sub_id.id} ${p.txn}`);
      }
      if (type === CAEP_CREDENTIAL_CHANGE) expect(p.events[type]).toMatchObject({ change_type: "revoke" });
    }
    expect(seen.sort()).toEqual(expected);
    // Accepted once each: a SET the receiver took is never pushed again.
    expect(accepted().length).toBe(expected.length);
    expect(push.state.received.some((r) => r.status === 503)).toBe(true);
    const states = await queryRows<{ state: string; n: number }>(store().reader, "test", "SELECT state, count() AS n FROM transmitter_sets FINAL GROUP BY state ORDER BY state");
    expect(states.map((s) => [s.state, Number(s.n)])).toEqual([["delivered", expected.length], ["pending", 4]]);

    // Poll delivery: the poll receiver asked for credential-change only.
    const poll = (body: object, token = pollStream.poll_token) =>
      call(pollRoute.POST, `/ssf/poll/${pollStream.stream_id}`, { method: "POST", body, token, params: { stream_id: pollStream.stream_id } });
    expect((await poll({}, "rvs_wrong")).status).toBe(401);
    const first = await (await poll({ maxEvents: 10 })).json();
    const polledSeen = [];
    for (const set of Object.values(first.sets) as string[]) {
      const p = await verify(set, "poll-receiver");
      polledSeen.push(`${Object.keys(p.events)[0]} ${p.sub_id.id} ${p.txn}`);
    }
    expect(polledSeen.sort()).toEqual(expected.filter((e) => e.startsWith(CAEP_CREDENTIAL_CHANGE)));
    // Not acknowledged: handed out again, same jtis. Acknowledged: gone.
    const again = await (await poll({ maxEvents: 10 })).json();
    expect(Object.keys(again.sets).sort()).toEqual(Object.keys(first.sets).sort());
    // Nothing left: a long poll (RFC 8936's default) waits for a SET, then answers with none.
    const waitedFrom = Date.now();
    const acked = await (await poll({ ack: Object.keys(first.sets), maxEvents: 10 })).json();
    expect(acked.sets).toEqual({});
    expect(Date.now() - waitedFrom).toBeGreaterThanOrEqual(9_000);

    // Per revocation: which receivers were told and when they acknowledged (the dashboard's card).
    const notified = await (await call(notifiedRoute.GET, "/api/v1/revocations/rev-orch/notifications", { params: { event_id: "rev-orch" } })).json();
    expect(notified.items.map((x: { aud: string; sets: number; acknowledged: number; pending: number }) => [x.aud, x.sets, x.acknowledged, x.pending]).sort())
      .toEqual([["https://gateway.example", 3, 3, 0], ["poll-receiver", 3, 3, 0]]);
    for (const x of notified.items) expect(Date.parse(x.acknowledged_at)).toBeGreaterThanOrEqual(Date.parse(x.told_at));
    expect(notified.items.map((x: { leaking_after_ack: boolean }) => x.leaking_after_ack)).toEqual([false, false]);
    // The tool layer (the push receiver) lets a delegated token through after it acknowledged: marked, and listed first.
    await send([{ event_id: id("act"), type: "action", time: new Date().toISOString(), agent_id: "sub-a", credential_id: "tok-a", layer: "tool", action: "execute_tool", decision: "allow" }]);
    await waitUntilConsumed(sent);
    const urgent = await (await call(notifiedRoute.GET, "/api/v1/revocations/rev-orch/notifications", { params: { event_id: "rev-orch" } })).json();
    expect(urgent.items.map((x: { aud: string; leaking_after_ack: boolean }) => [x.aud, x.leaking_after_ack])).toEqual([["https://gateway.example", true], ["poll-receiver", false]]);

    // Verification: a SET carrying the receiver's state.
    expect((await call(verifyRoute.POST, "/api/v1/transmitter/verify", { method: "POST", body: { stream_id: pollStream.stream_id, state: "nonce-42" } })).status).toBe(204);
    const verification = await (await poll({ maxEvents: 10 })).json();
    const [vset] = Object.values(verification.sets) as string[];
    const vp = await verify(vset, "poll-receiver");
    expect(vp.events[SSF_VERIFICATION]).toEqual({ state: "nonce-42" });

    // A revocation of an orchestrator with a delegated sub-agent, receiver up: how long until
    // the receiver holds a SET for the root and for the descendant (printed, not asserted on).
    await send([issued("orch-2", "tok-o2", undefined, 60), issued("sub-2", "tok-o2-child", "tok-o2", 61)]);
    await waitUntilConsumed(sent);
    // Meanwhile the poll receiver is paused: its SETs are held, not lost.
    const paused = await call(statusRoute.POST, "/api/v1/transmitter/streams/status", { method: "POST", body: { stream_id: pollStream.stream_id, status: "paused" } });
    expect(paused.status).toBe(200);
    await poll({ ack: Object.keys(verification.sets) });
    const before = push.state.received.length;
    const t0 = Date.now();
    await send([revoke("rev-orch-2", "agent", "orch-2", 70)]);
    const txns = async () => Promise.all(push.state.received.slice(before).filter((r) => r.status === 202).map(async (r) => (await verify(r.body, "https://gateway.example")).sub_id.id));
    await eventually(async () => (await txns()).sort().join() === "tok-o2,tok-o2-child", 30_000, "SETs for the root and its descendant");
    console.log(`ssf: revocation produced → SETs for the root and its delegated credential accepted by the push receiver in ${Date.now() - t0} ms`);
    await waitUntilConsumed(sent);
    expect((await (await poll({ maxEvents: 10, returnImmediately: true })).json()).sets).toEqual({});
    await call(statusRoute.POST, "/api/v1/transmitter/streams/status", { method: "POST", body: { stream_id: pollStream.stream_id, status: "enabled" } });
    const held = await (await poll({ maxEvents: 10 })).json();
    const heldSubjects = await Promise.all((Object.values(held.sets) as string[]).map(async (s) => (await verify(s, "poll-receiver")).sub_id.id));
    expect(heldSubjects.sort()).toEqual(["tok-o2", "tok-o2-child"]);
  }, 120_000);

  it("stops the SETs about a removed subject until it is added again (default_subjects ALL)", async () => {
    const created = await (await call(streamsRoute.POST, "/api/v1/transmitter/streams", { method: "POST", body: { aud: "subjects-receiver", events_requested: [CAEP_SESSION_REVOKED], delivery: { method: POLL } } })).json();
    const poll = async () => {
      const res = await call(pollRoute.POST, `/ssf/poll/${created.stream_id}`, { method: "POST", body: { maxEvents: 10, returnImmediately: true }, token: created.poll_token, params: { stream_id: created.stream_id } });
      const sets = Object.values((await res.json()).sets) as string[];
      return Promise.all(sets.map(async (set) => { const p = await verify(set, "subjects-receiver"); return `${p.sub_id.id} ${p.txn}`; }));
    };
    const subject = (id: string) => ({ stream_id: created.stream_id, subject: { format: "opaque", id } });
    expect((await call(subjectsRemove.POST, "/api/v1/transmitter/subjects/remove", { method: "POST", body: subject("sess-out") })).status).toBe(204);
    await send([revoke("rev-out-1", "session", "sess-out", 100), revoke("rev-in", "session", "sess-in", 100)]);
    await waitUntilConsumed(sent);
    expect(await poll()).toEqual(["sess-in rev-in"]);
    expect((await call(subjectsAdd.POST, "/api/v1/transmitter/subjects/add", { method: "POST", body: subject("sess-out") })).status).toBe(200);
    await send([revoke("rev-out-2", "session", "sess-out", 101)]);
    await waitUntilConsumed(sent);
    // Adding it back resumes its SETs (and never narrowed the stream to it).
    expect((await poll()).sort()).toEqual(["sess-in rev-in", "sess-out rev-out-2"]);
  });

  it("refuses a push endpoint on a private address unless allow-listed, as for webhooks", async () => {
    const refused = await call(streamsRoute.POST, "/api/v1/transmitter/streams", { method: "POST", body: { aud: "inside", delivery: { method: PUSH, endpoint_url: "http://10.1.2.3/events" } } });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { code: "invalid_parameter", param: "delivery.endpoint_url" } });
    const listed = (await (await call(streamsRoute.GET, "/api/v1/transmitter/streams")).json()) as { aud: string }[];
    expect(listed.map((x) => x.aud)).not.toContain("inside");
  });

  it("pushes a session-revoked for a session that never presented a credential", async () => {
    const before = push.state.received.length;
    await send([revoke("rev-lonely", "session", "sess-lonely", 80)]);
    await waitUntilConsumed(sent);
    const told = async () =>
      Promise.all(push.state.received.slice(before).filter((r) => r.status === 202).map(async (r) => {
        const p = await verify(r.body, "https://gateway.example");
        return `${Object.keys(p.events)[0]} ${p.sub_id.id} ${p.txn}`;
      }));
    await eventually(async () => (await told()).length >= 1, 30_000, "the session-revoked SET");
    await new Promise((r) => setTimeout(r, 500)); // a second SET would arrive meanwhile
    expect(await told()).toEqual([`${CAEP_SESSION_REVOKED} sess-lonely rev-lonely`]);
  });

  it("records at start the SETs a stop lost between a coverage write and their recording, for streams unchanged since before that write", async () => {
    const register = async (aud: string) =>
      (await (await call(streamsRoute.POST, "/api/v1/transmitter/streams", { method: "POST", body: { aud, events_requested: [CAEP_CREDENTIAL_CHANGE], delivery: { method: POLL } } })).json()) as { stream_id: string; poll_token: string };
    const pollAll = async (stream: { stream_id: string; poll_token: string }, aud: string, ack: string[] = []) => {
      const res = await call(pollRoute.POST, `/ssf/poll/${stream.stream_id}`, { method: "POST", body: { ack, maxEvents: 50, returnImmediately: true }, token: stream.poll_token, params: { stream_id: stream.stream_id } });
      const sets = (await res.json()).sets as Record<string, string>;
      const told = await Promise.all(Object.values(sets).map(async (set) => { const p = await verify(set, aud); return `${p.sub_id.id} ${p.txn}`; }));
      return { jtis: Object.keys(sets), told: told.sort() };
    };
    const early = await register("catch-up-receiver");
    const changed = await register("changed-receiver");
    // A revoked orchestrator, then a credential delegated from its token: the covered set grows.
    await send([issued("orch-4", "tok-o4", undefined, 110), revoke("rev-orch-4", "agent", "orch-4", 111)]);
    await waitUntilConsumed(sent);
    await send([issued("sub-4", "tok-o4-child", "tok-o4", 112)]);
    await waitUntilConsumed(sent);
    for (const [stream, aud] of [[early, "catch-up-receiver"], [changed, "changed-receiver"]] as const) {
      const live = await pollAll(stream, aud);
      expect(live.told).toEqual(["tok-o4 rev-orch-4", "tok-o4-child rev-orch-4"]);
      await pollAll(stream, aud, live.jtis);
      // The state a crash right after the growing coverage write leaves: coverage written, its SET
      // never recorded (the batch's retry then finds the set grown already and publishes nothing).
      await store().writer.command({
        query: "ALTER TABLE transmitter_sets DELETE WHERE stream_id = {s:String} AND subject = 'tok-o4-child'",
        query_params: { s: stream.stream_id },
        clickhouse_settings: { mutations_sync: "2" },
      });
    }
    // Changed (paused and enabled again) after the coverage writes: what it wanted before that is
    // not known, so the catch-up gives it nothing from before; nor a stream registered after them.
    for (const status of ["paused", "enabled"]) {
      await call(statusRoute.POST, "/api/v1/transmitter/streams/status", { method: "POST", body: { stream_id: changed.stream_id, status } });
    }
    const late = await register("late-receiver");
    await worker.stop();
    worker = await startWorker({ jobs: [ssfPushJob()] });
    expect((await pollAll(early, "catch-up-receiver")).told).toEqual(["tok-o4-child rev-orch-4"]);
    expect((await pollAll(changed, "changed-receiver")).told).toEqual([]);
    expect((await pollAll(late, "late-receiver")).told).toEqual([]);
    // Recorded once: the next start finds nothing missing (the SET was not acknowledged yet).
    const recorded = async () =>
      Number((await queryRows<{ n: number }>(store().reader, "test", "SELECT count() AS n FROM transmitter_sets WHERE stream_id = {s:String} AND subject = 'tok-o4-child'", { s: early.stream_id }))[0].n);
    const before = await recorded();
    await worker.stop();
    worker = await startWorker({ jobs: [ssfPushJob()] });
    expect(await recorded()).toBe(before);
  });

  it("sends a push stream's authorization header, kept encrypted at rest", async () => {
    process.env.REVENANT_SECRET_KEY = randomBytes(32).toString("base64");
    resetConfig();
    const keyed = receiver();
    keyed.state.down = false;
    await new Promise<void>((r) => keyed.server.listen(0, "127.0.0.1", r));
    try {
      const endpoint = `http://127.0.0.1:${(keyed.server.address() as AddressInfo).port}/events`;
      const created = await call(streamsRoute.POST, "/api/v1/transmitter/streams", { method: "POST", body: {
        aud: "keyed-receiver", delivery: { method: PUSH, endpoint_url: endpoint, authorization_header: "Bearer receiver-secret-42" },
      } });
      expect(created.status).toBe(201);
      const { stream_id } = await created.json();
      const [row] = await queryRows<{ authorization_header: string }>(store().reader, "test", "SELECT authorization_header FROM transmitter_streams FINAL WHERE stream_id = {id:String}", { id: stream_id });
      expect(row.authorization_header).toMatch(/^enc:v1:/);
      expect(row.authorization_header).not.toContain("receiver-secret-42");
      await send([revoke("rev-keyed", "session", "sess-keyed", 90)]);
      await eventually(async () => keyed.state.received.length > 0, 30_000, "a SET for the keyed receiver");
      expect(keyed.state.received[0].authorization).toBe("Bearer receiver-secret-42");
    } finally {
      keyed.server.close();
      delete process.env.REVENANT_SECRET_KEY;
      resetConfig();
    }
  });
});
