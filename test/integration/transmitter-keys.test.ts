/**
 * SSF signing keys (lib/transmitter/keys.ts) on the embedded engine: the newest key signs, a new one is
 * made when it is due, and the JWKS keeps a replaced key for one rotation period plus the push
 * retry window, so a SET signed before a rotation still verifies with a receiver's jose.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalJWKSet, jwtVerify, SignJWT } from "jose";
import { closeStore, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { SigningKeys } from "@/lib/transmitter/keys";
import { POLL, StreamStore, streamInput } from "@/lib/transmitter/streams";
import { configureTestStack } from "../helpers/stack";

const HOUR = 3_600_000;

beforeAll(async () => {
  configureTestStack();
  await migrate(store().writer);
});
afterAll(async () => {
  await closeStore();
});

describe("SSF signing keys", () => {
  it("rotates when due and keeps the replaced key verifiable for the retry window", async () => {
    const keys = new SigningKeys(store().writer, 24, 25);
    const t0 = Date.now();
    const a = await keys.current(t0);
    expect((await keys.current(t0 + 23 * HOUR)).kid).toBe(a.kid);
    const set = await new SignJWT({ jti: "x" }).setProtectedHeader({ alg: "RS256", kid: a.kid, typ: "secevent+jwt" }).setIssuer("iss").sign(a.key);

    // Ten minutes before the rotation the next key is published, and the old one still signs:
    // a receiver that cached the JWKS just before has the new key by the time a SET names it.
    const MINUTE = 60_000;
    expect((await keys.current(t0 + 24 * HOUR - 10 * MINUTE)).kid).toBe(a.kid);
    const published = await keys.jwks(t0 + 24 * HOUR - 10 * MINUTE);
    expect(published.keys).toHaveLength(2);
    const b = await keys.current(t0 + 24 * HOUR);
    expect(b.kid).not.toBe(a.kid);
    expect(published.keys[0].kid).toBe(b.kid);
    const later = await keys.jwks(t0 + 24 * HOUR + 48 * HOUR);
    expect(later.keys.map((k) => k.kid)).toEqual([b.kid, a.kid]);
    expect(JSON.stringify(later)).not.toContain('"d"');
    await expect(jwtVerify(set, createLocalJWKSet(later), { issuer: "iss", typ: "secevent+jwt" })).resolves.toBeTruthy();

    const muchLater = await keys.jwks(t0 + 24 * HOUR + 49 * HOUR + 1);
    expect(muchLater.keys.map((k) => k.kid)).toEqual([b.kid]);
    await expect(jwtVerify(set, createLocalJWKSet(muchLater), { issuer: "iss" })).rejects.toThrow();
  });

  it("keeps a replaced key in the JWKS while a SET it signed is still pending for a live stream, however long", async () => {
    await store().writer.command({ query: "TRUNCATE TABLE transmitter_keys" }); // the test above made keys dated ahead
    const streams = new StreamStore(store().writer);
    const paused = (await streams.create(streamInput.parse({ aud: "held", delivery: { method: POLL } }))).stream;
    await streams.put({ ...paused, status: "paused" });
    const gone = (await streams.create(streamInput.parse({ aud: "gone", delivery: { method: POLL } }))).stream;
    await streams.delete(gone);
    const off = (await streams.create(streamInput.parse({ aud: "off", delivery: { method: POLL } }))).stream;
    await streams.put({ ...off, status: "disabled" });
    const t0 = Date.now();
    const signing = new SigningKeys(store().writer, 1, 1);
    const a = await signing.current(t0);
    const iso = (ms: number) => new Date(ms).toISOString();
    const set = (stream: string, state: string, version: number) => ({
      stream_id: stream, jti: `jti-${stream}`, txn: "rev-held", event_type: "test", subject: "tok-held", set_jwt: "", created_at: iso(t0),
      state, attempts: 0, next_attempt_at: iso(t0), first_attempt_at: null, delivered_at: null, last_status_code: null, last_error: "", version,
    });
    // A SET signed by `a` a moment ago and held by the paused stream.
    await store().writer.insert({ table: "transmitter_sets", format: "JSONEachRow", values: [set(paused.stream_id, "pending", 1)] });
    await signing.current(t0 + 2 * HOUR); // makes the next key, which signs ten minutes later
    const b = await signing.current(t0 + 2 * HOUR + 11 * 60_000);
    expect(b.kid).not.toBe(a.kid);
    // Far past one rotation plus the retry window: `a` stays while its SET waits...
    const weekLater = t0 + 2 * HOUR + 7 * 24 * HOUR;
    expect((await signing.jwks(weekLater)).keys.map((k) => k.kid)).toEqual([b.kid, a.kid]);
    // ...and goes once the receiver has taken it (read afresh: a process remembers it a few seconds).
    // A SET left pending for a deleted or a disabled stream keeps no key: nobody takes it.
    await store().writer.insert({
      table: "transmitter_sets", format: "JSONEachRow",
      values: [set(paused.stream_id, "acked", 2), set(gone.stream_id, "pending", 1), set(off.stream_id, "pending", 1)],
    });
    const fresh = new SigningKeys(store().writer, 1, 1);
    expect((await fresh.jwks(weekLater)).keys.map((k) => k.kid)).toEqual([b.kid]);
    // Enabled again, the disabled stream's held SET counts at once: its key is listed again.
    await streams.put({ ...off, status: "enabled" });
    expect((await fresh.jwks(weekLater)).keys.map((k) => k.kid)).toEqual([b.kid, a.kid]);
  });
});
