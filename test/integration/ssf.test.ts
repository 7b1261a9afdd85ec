/**
 * The SSF/CAEP receiver against a real transmitter over HTTP (test/helpers/ssf-transmitter.ts:
 * discovery document, JWKS, SETs signed with jose, an RFC 8936 poll endpoint), with the
 * real route handlers, broker and engine behind it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { POST as createStream, GET as listStreams } from "@/app/api/v1/ssf/streams/route";
import { PATCH as patchStream } from "@/app/api/v1/ssf/streams/[id]/route";
import { GET as listPairs } from "@/app/api/v1/post-revocation-actions/route";
import { GET as getExport } from "@/app/api/v1/otlp-exports/route";
import { POST as push } from "@/app/api/v1/ssf/streams/[id]/push/route";
import { GET as getRevocation } from "@/app/api/v1/revocations/[event_id]/route";
import { config } from "@/lib/config";
import { closeSharedProducer } from "@/lib/kafka";
import { CREDENTIAL_CHANGE, SESSION_REVOKED, VERIFICATION } from "@/lib/ssf/map";
import { pollStream, type PollResult } from "@/lib/ssf/poll";
import { StreamStore } from "@/lib/ssf/streams";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { detectionIdle } from "@/lib/detection/engine";
import { otlpJob } from "@/ingest/jobs";
import { startWorker, type Worker } from "@/ingest/worker";
import { call, json, TEST_API_KEY } from "../helpers/api";
import { configureTestStack, count, eventually, produceJson, testProducer } from "../helpers/stack";
import { serialise } from "../helpers/otel";
import { controlEvents, nativeActions, otelSpans, T } from "../helpers/otlp-scenario";
import { POLL_TOKEN, TestTransmitter } from "../helpers/ssf-transmitter";

const AUD = "https://revenant.example/ssf";
let tx: TestTransmitter;
let worker: Worker;
let producer: Producer;
let pushStream: { id: string; push_token: string };
let pollStreamId: string;

async function pushSet(jwt: string, token = pushStream.push_token, id = pushStream.id): Promise<Response> {
  const req = new Request(`http://localhost/api/v1/ssf/streams/${id}/push`, {
    method: "POST", headers: { "content-type": "application/secevent+jwt", authorization: `Bearer ${token}` }, body: jwt,
  });
  return push(req, { params: Promise.resolve({ id }) });
}

const revocation = (eventId: string) =>
  queryRows<{ rev_scope: string; rev_subject: string; attributes: Record<string, string> }>(store().reader, "test",
    "SELECT rev_scope, rev_subject, attributes FROM events FINAL WHERE event_id = {id:String}", { id: eventId }).then((r) => r[0]);

const keptSet = (streamId: string, jti: string) =>
  queryRows<{ raw: string; claims: string; outcome: string; revocation_event_id: string }>(store().reader, "test",
    "SELECT raw, claims, outcome, revocation_event_id FROM ssf_sets FINAL WHERE stream_id = {s:String} AND jti = {j:String}", { s: streamId, j: jti }).then((r) => r[0]);

beforeAll(async () => {
  configureTestStack({ REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY, SSF_ALLOWLIST: "127.0.0.1", SSF_JWKS_COOLDOWN_MS: "0", OTLP_SERVICE_LAYERS: "mcp-gw=gateway" });
  tx = await new TestTransmitter().start();
  producer = await testProducer();
  worker = await startWorker({ jobs: [otlpJob()] });
  const created = await call(createStream, "/api/v1/ssf/streams", { method: "POST", body: {
    name: "idp push", issuer: tx.issuer, audience: AUD, delivery: "push",
    subject_rules: [
      { event: "session-revoked", format: "complex", path: "session.id", prefix: "okta:" },
      { event: "credential-change", format: "jwt_id", path: "jti" },
    ],
  } });
  expect(created.status).toBe(201);
  pushStream = await json(created);
  expect(pushStream.push_token).toMatch(/^ssfp_/);
  const polled = await call(createStream, "/api/v1/ssf/streams", { method: "POST", body: {
    name: "idp poll", issuer: tx.issuer, audience: AUD, delivery: "poll", poll_url: `${tx.issuer}/poll`, poll_token: POLL_TOKEN,
  } });
  expect(polled.status).toBe(201);
  pollStreamId = (await json(polled)).id;
});
afterAll(async () => {
  await worker?.stop();
  await tx?.stop();
  await producer?.disconnect();
  await closeSharedProducer();
  await closeStore();
});

describe("SSF push delivery (RFC 8935)", () => {
  it("turns a signed session-revoked SET into a session revocation and keeps the SET as its source", async () => {
    const { jti, jwt } = await tx.sign(SESSION_REVOKED, { event_timestamp: T / 1000, initiating_entity: "policy", reason_admin: { en: "risky login" } }, {
      aud: AUD, subId: { format: "complex", session: { format: "opaque", id: "sess-77" }, user: { format: "email", email: "bot@example.com" } },
    });
    const res = await pushSet(jwt);
    expect(res.status).toBe(202);
    const kept = await keptSet(pushStream.id, jti);
    expect(kept).toMatchObject({ raw: jwt, outcome: "revocation" });
    expect(JSON.parse(kept.claims)).toMatchObject({ jti, iss: tx.issuer });
    const ev = await eventually(() => revocation(kept.revocation_event_id), 30_000, "the revocation stored");
    expect(ev).toMatchObject({ rev_scope: "session", rev_subject: "okta:sess-77" });
    expect(ev.attributes).toMatchObject({ "revenant.origin": "ssf", "ssf.jti": jti, "ssf.stream": "idp push" });
    // The revocation's page shows the SET as its source.
    const page = await eventually(async () => {
      const res = await call(getRevocation, `/api/v1/revocations/${kept.revocation_event_id}`, { params: { event_id: kept.revocation_event_id } });
      return res.status === 200 ? json(res) : null;
    }, 30_000, "the revocation's summary");
    expect(page.source).toMatchObject({ kind: "ssf", stream_name: "idp push", jti, raw: jwt, claims: { jti } });
  });

  it("refuses a replayed jti, a wrong audience, a foreign key, a sub or exp claim and a wrong typ with RFC 8935 errors", async () => {
    const subId = { format: "jwt_id", iss: tx.issuer, jti: "tok-1" };
    const first = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke", credential_type: "bearer" }, { aud: AUD, subId });
    expect((await pushSet(first.jwt)).status).toBe(202);
    // The very same token again (our 202 was lost, the transmitter retries): a repeat, accepted.
    expect((await pushSet(first.jwt)).status).toBe(202);
    const refusals: [string, Promise<{ jwt: string }>][] = [
      // Another token reusing the accepted jti: a replay.
      ["invalid_request", tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke", credential_type: "bearer" }, { aud: AUD, subId, jti: first.jti })],
      ["invalid_audience", tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: "https://someone-else", subId })],
      ["invalid_key", TestTransmitter.foreignKey().then((key) => tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId, key, kid: tx.kid }))],
      ["invalid_issuer", tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId, iss: "https://evil.example" })],
      ["invalid_request", tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId, claims: { sub: "user" } })],
      ["invalid_request", tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId, claims: { exp: Math.floor(Date.now() / 1000) + 60 } })],
      ["invalid_request", tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId, typ: "JWT" })],
    ];
    for (const [err, signed] of refusals) {
      const res = await pushSet((await signed).jwt);
      expect(res.status, err).toBe(400);
      expect(await res.json()).toEqual({ err, description: expect.any(String) });
    }
    // Without the stream's push token.
    expect((await pushSet(first.jwt, "ssfp_wrong")).status).toBe(401);
    // Declared larger than a SET, even larger than the API's own limit: RFC 8935's shape too.
    const huge = await push(new Request(`http://localhost/api/v1/ssf/streams/${pushStream.id}/push`, {
      method: "POST", headers: { "content-type": "application/secevent+jwt", "content-length": "2000000" }, body: "not read",
    }), { params: Promise.resolve({ id: pushStream.id }) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ err: "invalid_request", description: expect.stringMatching(/at most/) });
    // One revocation for the credential, despite the repeat and the replay.
    expect(await count("SELECT count() FROM ssf_sets FINAL WHERE stream_id = {s:String} AND outcome = 'revocation'", { s: pushStream.id })).toBe(2);
  });

  it("accepts a token signed with a new key after rotation (refetches the JWKS on the unknown kid)", async () => {
    const before = tx.jwksFetches;
    await tx.rotate();
    const { jti, jwt } = await tx.sign(CREDENTIAL_CHANGE, { change_type: "delete" }, { aud: AUD, subId: { format: "jwt_id", iss: tx.issuer, jti: "tok-2" } });
    expect((await pushSet(jwt)).status).toBe(202);
    expect(tx.jwksFetches).toBeGreaterThan(before);
    expect((await keptSet(pushStream.id, jti)).outcome).toBe("revocation");
  });

  it("records verification events and lists the stream's status for the settings page", async () => {
    const { jwt } = await tx.sign(VERIFICATION, { state: "abc" }, { aud: AUD, subId: { format: "opaque", id: pushStream.id } });
    expect((await pushSet(jwt)).status).toBe(202);
    const listed = await call(listStreams, "/api/v1/ssf/streams");
    const list = await json(listed);
    expect(listed.status, JSON.stringify(list)).toBe(200);
    const s = list.items.find((x: { id: string }) => x.id === pushStream.id);
    expect(s.status).toMatchObject({ sets_accepted: 4, last_verified_at: expect.any(String), last_error: expect.stringContaining("refused") });
    expect(s).not.toHaveProperty("poll_token");
    expect(s).not.toHaveProperty("push_token_hash");
  });

  it("asks for the SET again (503), never refuses it, while the transmitter's key set cannot be fetched", async () => {
    await tx.rotate(); // the next SET names a kid the receiver does not hold: its keys are fetched again
    tx.jwksFailures = 1;
    const { jti, jwt } = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId: { format: "jwt_id", iss: tx.issuer, jti: "tok-keys-down" } });
    const refused = await pushSet(jwt);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ err: "temporarily_unavailable", description: expect.any(String) });
    expect(await keptSet(pushStream.id, jti)).toBeUndefined();
    // The transmitter retries once its key server answers: accepted, one revocation.
    expect((await pushSet(jwt)).status).toBe(202);
    expect(await keptSet(pushStream.id, jti)).toMatchObject({ outcome: "revocation" });
  });

  it("accepts a SET without a kid that one of several published keys verifies (a rotation in progress)", async () => {
    await tx.addKey();
    // A SET naming the new key's kid makes the receiver fetch the key set again: it holds both keys now.
    const named = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId: { format: "jwt_id", iss: tx.issuer, jti: "tok-new-kid" } });
    expect((await pushSet(named.jwt)).status).toBe(202);
    const { jti, jwt } = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId: { format: "jwt_id", iss: tx.issuer, jti: "tok-no-kid" }, kid: null });
    const res = await pushSet(jwt);
    expect(res.status, await res.clone().text()).toBe(202);
    expect(await keptSet(pushStream.id, jti)).toMatchObject({ outcome: "revocation" });
    // Signed by a key the transmitter does not publish: none of them verifies it.
    const forged = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId: { format: "jwt_id", iss: tx.issuer, jti: "tok-forged" }, kid: null, key: await TestTransmitter.foreignKey() });
    const refused = await pushSet(forged.jwt);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ err: "invalid_key", description: expect.any(String) });
  });

  it("keeps a SET no subject rule maps and shows it as the stream's last error", async () => {
    const { jti, jwt } = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId: { format: "email", email: "bot@example.com" } });
    expect((await pushSet(jwt)).status).toBe(202);
    expect(await keptSet(pushStream.id, jti)).toMatchObject({ outcome: "unmapped", revocation_event_id: "" });
    const list = await json(await call(listStreams, "/api/v1/ssf/streams"));
    const status = list.items.find((x: { id: string }) => x.id === pushStream.id).status;
    expect(status.last_error).toContain(`SET ${jti} kept but produced nothing: no subject rule matches`);
  });

  it("accepts SETs from a transmitter whose issuer ends with a slash (as Google's and Auth0's do)", async () => {
    const slashed = await new TestTransmitter((origin) => `${origin}/`).start();
    try {
      const created = await call(createStream, "/api/v1/ssf/streams", { method: "POST", body: { name: "slashed issuer", issuer: slashed.issuer, audience: AUD, delivery: "push" } });
      expect(created.status).toBe(201);
      const stream = await json(created);
      const { jti, jwt } = await slashed.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId: { format: "jwt_id", iss: slashed.issuer, jti: "tok-slash" } });
      const res = await pushSet(jwt, stream.push_token, stream.id);
      expect(res.status, await res.clone().text()).toBe(202);
      expect(await keptSet(stream.id, jti)).toMatchObject({ outcome: "revocation" });
    } finally {
      await slashed.stop();
    }
  });
});

describe("SSF stream changes (PATCH /api/v1/ssf/streams/{id})", () => {
  it("changes only what the body names, takes effect on the next SET, is audited, and refuses invalid changes", async () => {
    const OLD_AUD = "https://old.revenant.example/ssf";
    const created = await json(await call(createStream, "/api/v1/ssf/streams", { method: "POST", body: {
      name: "to change", issuer: tx.issuer, audience: OLD_AUD, delivery: "push", subject_rules: [{ event: "credential-change", format: "jwt_id", path: "jti" }],
    } }));
    const patch = (body: unknown, id = created.id as string) => call(patchStream, `/api/v1/ssf/streams/${id}`, { method: "PATCH", body, params: { id } });
    const signed = (aud: string, jti: string) => tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud, subId: { format: "jwt_id", iss: tx.issuer, jti } });
    let token: string = created.push_token;

    const renamed = await patch({ name: "changed", audience: AUD });
    expect(renamed.status).toBe(200);
    const body = await json(renamed);
    expect(body).toMatchObject({ id: created.id, name: "changed", audience: AUD, issuer: tx.issuer, delivery: "push", enabled: true, push_token: null,
      subject_rules: [{ event: "credential-change", format: "jwt_id", path: "jti" }], push_path: `/api/v1/ssf/streams/${created.id}/push` });
    expect(body).not.toHaveProperty("poll_token");
    // The next SET is checked against the new audience.
    expect(await (await pushSet((await signed(OLD_AUD, "patch-1")).jwt, token, created.id)).json()).toMatchObject({ err: "invalid_audience" });
    expect((await pushSet((await signed(AUD, "patch-2")).jwt, token, created.id)).status).toBe(202);

    // Disabled, the push endpoint no longer knows it; enabled again, it does.
    expect((await patch({ enabled: false })).status).toBe(200);
    expect((await pushSet((await signed(AUD, "patch-3")).jwt, token, created.id)).status).toBe(404);
    expect((await patch({ enabled: true })).status).toBe(200);
    expect((await pushSet((await signed(AUD, "patch-4")).jwt, token, created.id)).status).toBe(202);

    // A rotated push token is shown once and replaces the old one at once.
    const rotated = await json(await patch({ rotate_push_token: true }));
    expect(rotated.push_token).toMatch(/^ssfp_/);
    expect((await pushSet((await signed(AUD, "patch-5")).jwt, token, created.id)).status).toBe(401);
    token = rotated.push_token;
    expect((await pushSet((await signed(AUD, "patch-6")).jwt, token, created.id)).status).toBe(202);

    // Invalid changes leave the stream as it was.
    const refused: [unknown, number][] = [
      [{}, 400],
      [{ colour: "red" }, 400],
      [{ delivery: "poll" }, 400],
      [{ audience: "" }, 400],
      [{ subject_rules: [{ path: "not a path" }] }, 400],
      [{ issuer: "http://127.0.0.1:9/no-transmitter" }, 400],
    ];
    for (const [change, status] of refused) expect((await patch(change)).status, JSON.stringify(change)).toBe(status);
    expect((await patch({ name: "x" }, "no-such-stream")).status).toBe(404);
    expect(await new StreamStore(store().reader, store().writer).get(created.id)).toMatchObject({ name: "changed", audience: AUD, issuer: tx.issuer, delivery: "push", enabled: true });
    expect((await pushSet((await signed(AUD, "patch-7")).jwt, token, created.id)).status).toBe(202);

    const audited = await queryRows<{ details: string }>(store().reader, "test",
      "SELECT details FROM audit_log WHERE action = 'ssf_stream.update' AND target = {id:String} ORDER BY at", { id: created.id });
    expect(audited.map((r) => JSON.parse(r.details).fields)).toEqual([["name", "audience"], ["enabled"], ["enabled"], ["rotate_push_token"]]);
  });
});

describe("SSF poll delivery (RFC 8936)", () => {
  it("acknowledges accepted SETs, reports refused ones as setErrs, and neither loses nor repeats events across a restart", async () => {
    const stream = (await new StreamStore(store().reader, store().writer).get(pollStreamId))!;
    const good = await tx.sign(SESSION_REVOKED, { event_timestamp: T / 1000 }, { aud: AUD, subId: { format: "complex", session: { format: "opaque", id: "poll-sess" } } });
    const bad = await tx.sign(SESSION_REVOKED, {}, { aud: "https://not-us", subId: { format: "opaque", id: "x" } });
    tx.enqueue(good.jti, good.jwt);
    tx.enqueue(bad.jti, bad.jwt);
    // The request that would carry the acknowledgements never lands: the cycle stops after
    // processing the SETs, as a crash before the next poll would.
    tx.failAckRequests = 1;
    await expect(pollStream(stream)).rejects.toThrow("poll endpoint answered 500");
    expect(tx.acked).toEqual([]);
    // "Restart": a new cycle reads what is owed from ClickHouse and sends it first.
    const r = await pollStream(stream);
    expect(tx.acked).toEqual([good.jti]);
    expect(tx.setErrs[bad.jti]).toMatchObject({ err: "invalid_audience" });
    expect(tx.queue.size).toBe(0);
    expect(r.received).toBe(0);
    // Redelivery before the ack is acknowledged without a second revocation.
    tx.enqueue(good.jti, good.jwt);
    const again = await pollStream(stream);
    expect(again).toEqual({ received: 1, accepted: 1, refused: 0 });
    expect(await count("SELECT count() FROM ssf_sets FINAL WHERE stream_id = {s:String}", { s: pollStreamId })).toBe(1);
    const kept = await keptSet(pollStreamId, good.jti);
    expect(await eventually(() => revocation(kept.revocation_event_id), 30_000, "the polled revocation")).toMatchObject({ rev_scope: "session", rev_subject: "poll-sess" });
  });

  /**
   * One poll cycle of the poll stream, as the worker runs it, recording what it produced to the
   * events topic (and sending it on): a refused SET must produce nothing, and a SET delivered
   * again must not produce its revocation again (its event_id is the same, so the stored events
   * alone could not tell).
   */
  async function pollOnce(): Promise<{ result: PollResult; produced: { event_id: string; revocation: { scope: string; subject: string } }[] }> {
    const stream = (await new StreamStore(store().reader, store().writer).get(pollStreamId))!;
    const produced: { event_id: string; revocation: { scope: string; subject: string } }[] = [];
    const result = await pollStream(stream, {
      produce: async (topic, messages) => {
        produced.push(...messages.map((m) => JSON.parse(m.value)));
        await producer.send({ topic, messages, acks: -1 });
      },
    });
    return { result, produced };
  }
  const pollStatus = async () => (await new StreamStore(store().reader, store().writer).status([pollStreamId])).get(pollStreamId)!;
  const setRows = (jti: string) => count("SELECT count() FROM ssf_sets FINAL WHERE stream_id = {s:String} AND jti = {j:String}", { s: pollStreamId, j: jti });

  it("reports SETs signed with a key the transmitter does not publish as invalid_key in setErrs, and revokes nothing", async () => {
    const key = await TestTransmitter.foreignKey();
    const subId = { format: "jwt_id", iss: tx.issuer, jti: "poll-forged-tok" };
    // A forgery naming the transmitter's current kid, and one naming a kid of its own (which
    // makes the receiver refetch the JWKS, and still find no such key).
    const sameKid = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId, key, kid: tx.kid });
    const ownKid = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, subId, key });
    tx.enqueue(sameKid.jti, sameKid.jwt);
    tx.enqueue(ownKid.jti, ownKid.jwt);
    const { result, produced } = await pollOnce();
    expect(result).toEqual({ received: 2, accepted: 0, refused: 2 });
    for (const forged of [sameKid, ownKid]) {
      // Sent back in the next poll request: the transmitter has the error and stops delivering it.
      expect(tx.setErrs[forged.jti]).toEqual({ err: "invalid_key", description: expect.any(String) });
      expect(tx.acked).not.toContain(forged.jti);
      expect(await setRows(forged.jti)).toBe(0);
    }
    expect(tx.queue.size).toBe(0);
    expect(produced).toEqual([]);
    // The admin sees why in the stream's status (Settings → Shared Signals).
    expect((await pollStatus()).last_error).toMatch(/refused: invalid_key/);
  });

  it("accepts a SET signed with a key the transmitter rotated in after the receiver cached its JWKS (refetched on the unknown kid)", async () => {
    const before = tx.jwksFetches;
    await tx.rotate();
    const { jti, jwt } = await tx.sign(SESSION_REVOKED, { event_timestamp: T / 1000 }, { aud: AUD, subId: { format: "complex", session: { format: "opaque", id: "poll-rotated" } } });
    tx.enqueue(jti, jwt);
    const { result, produced } = await pollOnce();
    expect(result).toEqual({ received: 1, accepted: 1, refused: 0 });
    expect(tx.jwksFetches).toBeGreaterThan(before);
    expect(tx.acked).toContain(jti);
    expect(tx.setErrs).not.toHaveProperty(jti);
    expect(tx.queue.size).toBe(0);
    expect(produced).toMatchObject([{ revocation: { scope: "session", subject: "poll-rotated" } }]);
    const kept = await keptSet(pollStreamId, jti);
    expect(kept).toMatchObject({ raw: jwt, outcome: "revocation", revocation_event_id: produced[0].event_id });
    expect(await eventually(() => revocation(kept.revocation_event_id), 30_000, "the revocation of the rotated key's SET"))
      .toMatchObject({ rev_scope: "session", rev_subject: "poll-rotated" });
  });

  it("refuses a different SET reusing an accepted jti as a replay (invalid_request in setErrs), keeping the first and its revocation only", async () => {
    const first = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke", event_timestamp: T / 1000 }, { aud: AUD, subId: { format: "jwt_id", iss: tx.issuer, jti: "poll-tok-1" } });
    tx.enqueue(first.jti, first.jwt);
    const accepted = await pollOnce();
    expect(accepted.result).toEqual({ received: 1, accepted: 1, refused: 0 });
    expect(accepted.produced).toMatchObject([{ revocation: { scope: "credential", subject: "poll-tok-1" } }]);
    expect(tx.acked).toContain(first.jti);
    // Another token under the same jti, naming another credential.
    const reused = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke" }, { aud: AUD, jti: first.jti, subId: { format: "jwt_id", iss: tx.issuer, jti: "poll-tok-2" } });
    expect(reused.jwt).not.toBe(first.jwt);
    tx.enqueue(reused.jti, reused.jwt);
    const { result, produced } = await pollOnce();
    expect(result).toEqual({ received: 1, accepted: 0, refused: 1 });
    expect(tx.setErrs[first.jti]).toEqual({ err: "invalid_request", description: expect.stringContaining("replay refused") });
    expect(tx.queue.size).toBe(0);
    expect(produced).toEqual([]);
    expect(await setRows(first.jti)).toBe(1);
    const kept = await keptSet(pollStreamId, first.jti);
    expect(kept.raw).toBe(first.jwt);
    expect(await eventually(() => revocation(kept.revocation_event_id), 30_000, "the first SET's revocation"))
      .toMatchObject({ rev_scope: "credential", rev_subject: "poll-tok-1" });
    expect((await pollStatus()).last_error).toMatch(new RegExp(`SET ${first.jti} refused: invalid_request`));
  });

  it("acknowledges a byte-identical SET delivered again after its acknowledgement, without a second revocation or an error", async () => {
    const { jti, jwt } = await tx.sign(SESSION_REVOKED, { event_timestamp: T / 1000 }, { aud: AUD, subId: { format: "complex", session: { format: "opaque", id: "poll-again" } } });
    tx.enqueue(jti, jwt);
    const first = await pollOnce();
    expect(first.result).toEqual({ received: 1, accepted: 1, refused: 0 });
    expect(first.produced).toHaveLength(1);
    const status = await pollStatus();
    // The transmitter delivers it again although it was acknowledged (it lost the
    // acknowledgement, say): the same token is acknowledged again, not refused as a replay.
    tx.enqueue(jti, jwt);
    const again = await pollOnce();
    expect(again.result).toEqual({ received: 1, accepted: 1, refused: 0 });
    expect(tx.acked.filter((a) => a === jti)).toHaveLength(2);
    expect(tx.setErrs).not.toHaveProperty(jti);
    expect(tx.queue.size).toBe(0);
    // Nothing repeated: no second revocation produced, one SET kept, no new error for the admin.
    expect(again.produced).toEqual([]);
    expect(await setRows(jti)).toBe(1);
    expect(await pollStatus()).toMatchObject({ sets_accepted: status.sets_accepted, last_error: status.last_error, last_error_at: status.last_error_at });
    const kept = await keptSet(pollStreamId, jti);
    expect(kept).toMatchObject({ raw: jwt, revocation_event_id: first.produced[0].event_id });
    expect(await eventually(() => revocation(kept.revocation_event_id), 30_000, "the redelivered SET's revocation"))
      .toMatchObject({ rev_scope: "session", rev_subject: "poll-again" });
    expect(await count("SELECT count() FROM events FINAL WHERE attributes['ssf.jti'] = {j:String}", { j: jti })).toBe(1);
  });
});

describe("one story told natively and as OTel spans + an SSF SET", () => {
  it("gives the same post-revocation pairs, containment and alerts", async () => {
    // Native: everything as schema-v1 events. Mixed: the credential issue native, the
    // revocation as a CAEP credential-change SET (push), the actions as OTel spans on Kafka.
    const [issue] = controlEvents("m");
    await produceJson(producer, config().KAFKA_TOPIC, [...controlEvents("n"), ...nativeActions("n"), issue]);
    for (const s of await otelSpans("m")) await producer.send({ topic: config().OTLP_KAFKA_TOPIC, messages: [{ value: serialise([s], "otlp_proto"), headers: { "content-type": "application/x-protobuf" } }] });
    const { jti, jwt } = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke", event_timestamp: T / 1000 }, { aud: AUD, subId: { format: "jwt_id", iss: tx.issuer, jti: "m-cred" } });
    expect((await pushSet(jwt)).status).toBe(202);
    const revId = (await keptSet(pushStream.id, jti)).revocation_event_id;
    await eventually(async () => (await count("SELECT count() FROM events FINAL WHERE event_id LIKE 'm-call-%'")) === 4, 30_000, "four OTLP actions");
    const pairCount = (r: string) => count("SELECT count() FROM post_revocation_actions FINAL WHERE revocation_id = {r:String}", { r });
    const alertCount = (r: string) => count("SELECT count() FROM alerts FINAL WHERE revocation_id = {r:String}", { r });
    await eventually(async () => (await pairCount(revId)) === 3 && (await pairCount("n-rev")) === 3 && (await alertCount(revId)) > 0 && (await alertCount("n-rev")) > 0,
      30_000, "pairs and alerts of both revocations");
    const r = store().reader;
    const strip = (rows: Record<string, unknown>[], p: string, rev: string) =>
      JSON.parse(JSON.stringify(rows).replaceAll(rev, "REV").replaceAll(`"${p}-`, '"X-'));
    const read = async (p: string, rev: string) => ({
      pairs: strip(await queryRows(r, "test", `SELECT event_id, revocation_id, violation, via, time, agent_id, session_id, credential_id, layer, action, resource, decision
        FROM post_revocation_actions FINAL WHERE revocation_id = {rev:String} ORDER BY time, event_id`, { rev }), p, rev),
      status: strip(await queryRows(r, "test", "SELECT time, scope, subject, containment, layers, violation_count, blocked_count FROM revocation_status FINAL WHERE event_id = {rev:String}", { rev }), p, rev),
      alerts: strip(await queryRows(r, "test", `SELECT rule, severity, agent_id, layers_enforcing, layers_leaking, violation_count, sample_event_ids
        FROM alerts FINAL WHERE revocation_id = {rev:String} ORDER BY rule`, { rev }), p, rev),
    });
    // Summaries and alerts are published after the pairs are appended (lib/detection/publisher.ts):
    // wait for the publisher too, or the alerts read may still be those of an earlier batch.
    await detectionIdle();
    const native = await read("n", "n-rev");
    expect(native.pairs.length).toBe(3);
    expect(await read("m", revId)).toEqual(native);
  });
});

describe("one story told three ways: native events, OTel spans + SSF SETs, and a mix", () => {
  it("gives the same post-revocation pairs, containment and alerts, and the API names each action's origin", async () => {
    // Native: everything as schema-v1 events. Standard: the tool calls as OTel spans, the
    // revocation as a CAEP credential-change SET; only the credential's issue is native (no
    // OpenTelemetry or SSF signal announces an issuance). Mix: calls 1 and 3 native, 2 and 4
    // as spans, the revocation native.
    const spanCall = (s: { attributes: Record<string, unknown> }) => String(s.attributes["gen_ai.tool.call.id"] ?? "");
    const [issue] = controlEvents("t2");
    await produceJson(producer, config().KAFKA_TOPIC, [
      ...controlEvents("t1"), ...nativeActions("t1"), issue,
      ...controlEvents("t3"), ...nativeActions("t3").filter((e) => /-call-[13]$/.test(String(e.event_id))),
    ]);
    const spans = [...(await otelSpans("t2")), ...(await otelSpans("t3")).filter((s) => !/^t3-call-[13]$/.test(spanCall(s)))];
    for (const s of spans) await producer.send({ topic: config().OTLP_KAFKA_TOPIC, messages: [{ value: serialise([s], "otlp_json"), headers: { "content-type": "application/json" } }] });
    const { jti, jwt } = await tx.sign(CREDENTIAL_CHANGE, { change_type: "revoke", event_timestamp: T / 1000 }, { aud: AUD, subId: { format: "jwt_id", iss: tx.issuer, jti: "t2-cred" } });
    expect((await pushSet(jwt)).status).toBe(202);
    const tellings = { t1: "t1-rev", t2: (await keptSet(pushStream.id, jti)).revocation_event_id, t3: "t3-rev" };
    const pairCount = (r: string) => count("SELECT count() FROM post_revocation_actions FINAL WHERE revocation_id = {r:String}", { r });
    const alertCount = (r: string) => count("SELECT count() FROM alerts FINAL WHERE revocation_id = {r:String}", { r });
    for (const rev of Object.values(tellings)) {
      await eventually(async () => (await pairCount(rev)) === 3 && (await alertCount(rev)) > 0, 30_000, `pairs and alerts of ${rev}`);
    }
    await detectionIdle();
    const r = store().reader;
    const strip = (rows: unknown[], p: string, rev: string) => JSON.parse(JSON.stringify(rows).replaceAll(rev, "REV").replaceAll(`"${p}-`, '"X-'));
    const read = async (p: string, rev: string) => ({
      pairs: strip(await queryRows(r, "test", `SELECT event_id, revocation_id, violation, via, time, agent_id, session_id, credential_id, layer, action, resource, decision
        FROM post_revocation_actions FINAL WHERE revocation_id = {rev:String} ORDER BY time, event_id`, { rev }), p, rev),
      status: strip(await queryRows(r, "test", "SELECT time, scope, subject, containment, layers, violation_count, blocked_count FROM revocation_status FINAL WHERE event_id = {rev:String}", { rev }), p, rev),
      alerts: strip(await queryRows(r, "test", `SELECT rule, severity, agent_id, layers_enforcing, layers_leaking, violation_count, sample_event_ids
        FROM alerts FINAL WHERE revocation_id = {rev:String} ORDER BY rule`, { rev }), p, rev),
    });
    // Every telling's pairs are in and detection is idle (its publisher drained, above): the
    // summaries and alerts read now are final.
    const native = await read("t1", tellings.t1);
    expect(native.pairs.length).toBe(3);
    expect(native.alerts.length).toBe(2);
    for (const p of ["t2", "t3"] as const) expect(await read(p, tellings[p]), `the ${p} telling`).toEqual(native);

    // What the alert page and the investigate list show as each action's origin.
    const origins = async (rev: string) => {
      const res = await call(listPairs, `/api/v1/post-revocation-actions?revocation_id=${encodeURIComponent(rev)}`);
      expect(res.status).toBe(200);
      const items: { event_id: string; origin: { kind: string; service: string; span_name: string } | null }[] = (await json(res)).items;
      return Object.fromEntries(items.map((i) => [i.event_id.replace(/^t\d-/, ""), i.origin && `${i.origin.kind} ${i.origin.service} ${i.origin.span_name}`]));
    };
    expect(await origins(tellings.t1)).toEqual({ "call-2": null, "call-3": null, "call-4": null });
    expect(await origins(tellings.t2)).toEqual({
      "call-2": "otlp crm-agent execute_tool crm.export", "call-3": "otlp crm-agent execute_tool crm.delete", "call-4": expect.stringMatching(/^otlp mcp-gw tools\/call/),
    });
    expect(await origins(tellings.t3)).toEqual({ "call-2": "otlp crm-agent execute_tool crm.export", "call-3": null, "call-4": expect.stringMatching(/^otlp mcp-gw tools\/call/) });

    // The export an action came in, as received and decoded, for the investigator.
    const pair = (await json(await call(listPairs, `/api/v1/post-revocation-actions?revocation_id=${encodeURIComponent(tellings.t2)}`))).items
      .find((i: { event_id: string }) => i.event_id === "t2-call-2");
    const res = await call(getExport, `/api/v1/otlp-exports?id=${encodeURIComponent(pair.origin.export_id)}`);
    expect(res.status).toBe(200);
    const kept = await json(res);
    expect(kept).toMatchObject({ export_id: pair.origin.export_id, encoding: "otlp_json" });
    // As received: the SDK's own JSON, byte for byte what was on Kafka.
    expect(JSON.parse(kept.original).resourceSpans[0].scopeSpans[0].spans[0]).toMatchObject({ spanId: pair.origin.span_id });
    const span = kept.request.resourceSpans[0].scopeSpans[0].spans[0];
    expect(span).toMatchObject({ traceId: pair.origin.trace_id, spanId: pair.origin.span_id, name: pair.origin.span_name });
    expect((await call(getExport, "/api/v1/otlp-exports?id=nope")).status).toBe(404);
  });
});
