/**
 * Verification on request (SSF 1.0, "Verification"; lib/ssf/verification.ts): an admin asks
 * the transmitter for a verification event, the transmitter answers with one carrying the
 * state Revenant sent, on the stream, and the stream's status shows the request answered.
 * Against the test transmitter over real HTTP (discovery, JWKS, verification endpoint, SETs
 * signed with jose), with the real route handlers and engine; push and poll delivery.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as createStream } from "@/app/api/v1/ssf/streams/route";
import { GET as getStream, PATCH as patchStream } from "@/app/api/v1/ssf/streams/[id]/route";
import { POST as push } from "@/app/api/v1/ssf/streams/[id]/push/route";
import { POST as verify } from "@/app/api/v1/ssf/streams/[id]/verify/route";
import { closeSharedProducer } from "@/lib/kafka";
import { VERIFICATION } from "@/lib/ssf/map";
import { pollStream } from "@/lib/ssf/poll";
import { StreamStore } from "@/lib/ssf/streams";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { call, json, TEST_API_KEY } from "../helpers/api";
import { configureTestStack, eventually } from "../helpers/stack";
import { POLL_TOKEN, TestTransmitter, TRANSMITTER_TOKEN } from "../helpers/ssf-transmitter";

const AUD = "https://revenant.example/ssf-verify";
let tx: TestTransmitter;

async function created(body: Record<string, unknown>): Promise<{ id: string; push_token: string | null }> {
  const res = await call(createStream, "/api/v1/ssf/streams", { method: "POST", body: { issuer: tx.issuer, audience: AUD, ...body } });
  expect(res.status).toBe(201);
  return json(res);
}

const requestVerification = (id: string) => call(verify, `/api/v1/ssf/streams/${id}/verify`, { method: "POST", params: { id } });
const statusOf = async (id: string) => (await json(await call(getStream, `/api/v1/ssf/streams/${id}`, { params: { id } }))).status;

/** Delivers a SET to a push stream as the transmitter would: the push endpoint, with the stream's push token. */
function pushTo(stream: { id: string; push_token: string | null }) {
  return async ({ jwt }: { jwt: string }) => {
    const res = await push(
      new Request(`http://localhost/api/v1/ssf/streams/${stream.id}/push`, {
        method: "POST", headers: { "content-type": "application/secevent+jwt", authorization: `Bearer ${stream.push_token}` }, body: jwt,
      }),
      { params: Promise.resolve({ id: stream.id }) },
    );
    if (res.status !== 202) throw new Error(`push answered ${res.status}: ${await res.text()}`);
  };
}

beforeAll(async () => {
  configureTestStack({ REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY, SSF_ALLOWLIST: "127.0.0.1" });
  await migrate(store().writer);
  tx = await new TestTransmitter().start();
});
afterAll(async () => {
  await tx?.stop();
  await closeSharedProducer();
  await closeStore();
});

describe("SSF verification on request", () => {
  it("asks the transmitter for a verification event and shows the request answered once the event with its state arrives (push)", async () => {
    const stream = await created({ name: "verify push", delivery: "push", transmitter_stream_id: "tx-stream-push", transmitter_token: TRANSMITTER_TOKEN });
    tx.addStream("tx-stream-push", { aud: AUD, deliver: pushTo(stream) });
    // An unsolicited verification event counts as "last verified", but answers no request.
    const unsolicited = await tx.sign(VERIFICATION, { state: "someone-else" }, { aud: AUD, subId: { format: "opaque", id: "tx-stream-push" } });
    await pushTo(stream)(unsolicited);

    const res = await requestVerification(stream.id);
    expect(res.status).toBe(202);
    const { state } = await json(res);
    expect(tx.verificationRequests.at(-1)).toEqual({ stream_id: "tx-stream-push", state });
    const answered = await eventually(async () => {
      const s = await statusOf(stream.id);
      return s.verification?.answered_at ? s : null;
    }, 15_000, "the verification event carrying the state");
    expect(answered.verification.requested_at <= answered.verification.answered_at).toBe(true);
    expect(tx.deliveryErrors).toEqual([]);
    const sets = await queryRows<{ claims: string }>(store().reader, "test", "SELECT claims FROM ssf_sets FINAL WHERE stream_id = {s:String} AND outcome = 'verification'", { s: stream.id });
    expect(sets.map((r) => JSON.parse(r.claims).events[VERIFICATION].state).sort()).toEqual([state, "someone-else"].sort());
  });

  it("shows a request unanswered until the poll brings the event, then answered (poll)", async () => {
    const stream = await created({
      name: "verify poll", delivery: "poll", poll_url: `${tx.issuer}/poll`, poll_token: POLL_TOKEN, transmitter_stream_id: "tx-stream-poll", transmitter_token: TRANSMITTER_TOKEN,
    });
    tx.addStream("tx-stream-poll", { aud: AUD, deliver: async ({ jti, jwt }) => tx.enqueue(jti, jwt) });
    const full = (await new StreamStore(store().reader, store().writer).get(stream.id))!;
    // A verification event polled before the request, with another state: it answers nothing.
    const earlier = await tx.sign(VERIFICATION, { state: "an-earlier-one" }, { aud: AUD, subId: { format: "opaque", id: "tx-stream-poll" } });
    tx.enqueue(earlier.jti, earlier.jwt);
    expect(await pollStream(full)).toMatchObject({ received: 1, accepted: 1 });

    expect((await requestVerification(stream.id)).status).toBe(202);
    await eventually(async () => tx.queue.size === 1, 5_000, "the verification event queued for polling");
    expect((await statusOf(stream.id))).toMatchObject({ last_verified_at: expect.any(String), verification: { requested_at: expect.any(String), answered_at: null } });
    expect(await pollStream(full)).toMatchObject({ received: 1, accepted: 1, refused: 0 });
    expect((await statusOf(stream.id)).verification).toEqual({ requested_at: expect.any(String), answered_at: expect.any(String) });
  });

  it("refuses to ask without the transmitter's stream id, and reports a transmitter that refuses the request", async () => {
    const bare = await created({ name: "verify bare", delivery: "push" });
    const refused = await requestVerification(bare.id);
    expect(refused.status).toBe(400);
    expect((await json(refused)).error).toMatchObject({ code: "invalid_parameter", param: "transmitter_stream_id" });

    // The id set, but with a token the transmitter does not accept: its 401 is reported as 502.
    const patched = await call(patchStream, `/api/v1/ssf/streams/${bare.id}`, { method: "PATCH", params: { id: bare.id }, body: { transmitter_stream_id: "tx-stream-bare", transmitter_token: "wrong" } });
    expect(patched.status).toBe(200);
    expect(await json(patched)).not.toHaveProperty("transmitter_token");
    tx.addStream("tx-stream-bare", { aud: AUD, deliver: pushTo(bare) });
    const failed = await requestVerification(bare.id);
    expect(failed.status).toBe(502);
    expect((await json(failed)).error).toMatchObject({ code: "transmitter_refused", message: expect.stringContaining("401") });
  });
});
