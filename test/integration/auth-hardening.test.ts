/**
 * Abuse of the sign-in and API edge, against the real route handlers, the real embedded
 * ClickHouse and a real HTTP server: client addresses behind proxies, bounded password
 * hashing, failed-authentication limits, one-time first admin, CLI resets, cookie
 * prefixes, the public health answer, encrypted webhook secrets and the data directory.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { ensureFirstAdmin } from "@/lib/auth/bootstrap";
import { hashingHighWater, verifyPassword } from "@/lib/auth/passwords";
import { SessionStore } from "@/lib/auth/sessions";
import { UserStore } from "@/lib/auth/users";
import { ApiKeyStore } from "@/lib/auth/keys";
import { open } from "@/lib/auth/secret-box";
import { config, ConfigError, parseConfig, resetConfig } from "@/lib/config";
import { clientAddress, installPeerHook } from "@/lib/http/client-address";
import { resetRateLimits } from "@/lib/http/rate-limit";
import type { RouteHandler } from "@/lib/http/route";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { StreamStore } from "@/lib/ssf/streams";
import { CAEP_SESSION_REVOKED, PUSH, StreamStore as TransmitterStreamStore, type StreamInput } from "@/lib/transmitter/streams";
import { EndpointStore } from "@/lib/webhooks/endpoints";
import { configureTestStack, type TestStack } from "../helpers/stack";

const API = path.resolve(__dirname, "../../app/api/v1");
const route = async (p: string) => (await import(path.join(API, p, "route.ts"))) as Record<string, RouteHandler>;
const BOOTSTRAP = "bootstrap-key-for-the-hardening-test-0123456789";
const KEY_A = randomBytes(32).toString("base64");
const KEY_B = randomBytes(32).toString("hex");

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetConfig();
}

function req(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Request {
  return new Request(`http://localhost${url}`, {
    method: init.method ?? "GET",
    headers: { "content-type": "application/json", ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

let stack: TestStack;
beforeAll(async () => {
  stack = configureTestStack({
    REVENANT_ADMIN_EMAIL: "first@example.com",
    REVENANT_ADMIN_PASSWORD: "first admin password",
    REVENANT_BOOTSTRAP_API_KEY: BOOTSTRAP,
    REVENANT_AUTH_FAILURES_PER_MIN: "5",
    REVENANT_PASSWORD_HASH_CONCURRENCY: "2",
    REVENANT_WEBHOOK_ALLOWLIST: "127.0.0.1",
  });
  await migrate(store().writer);
});
afterAll(async () => {
  await closeStore();
});

describe("first admin and the user CLI", () => {
  it("creates the first admin once, ever: a deleted one is not re-created from the environment", async () => {
    expect(await ensureFirstAdmin()).toBe("created");
    const users = new UserStore(store().reader, store().writer);
    const admin = (await users.byEmailWithHash("first@example.com"))!;
    expect(await users.delete(admin.id)).toBe(true);
    expect(await ensureFirstAdmin()).toBe("done_before");
    expect(await users.byEmailWithHash("first@example.com")).toBeNull();
    const audit = await queryRows<{ action: string }>(store().reader, "test", "SELECT action FROM audit_log WHERE action = 'user.bootstrap_admin'");
    expect(audit).toHaveLength(1);
  });

  it("create-user --reset ends the user's sessions and is audited", async () => {
    const users = new UserStore(store().reader, store().writer);
    const bob = await users.create({ email: "bob@example.com", role: "viewer", password: "bob password 1" });
    const session = await new SessionStore(store().reader, store().writer).create(bob);
    expect(await new SessionStore(store().reader, store().writer).principal(session.token)).toMatchObject({ id: bob.id });
    // The CLI opens the data directory itself: one process may own it at a time.
    await closeStore();
    const run = promisify(execFile);
    const cli = (...args: string[]) =>
      run(process.execPath, ["--import", "tsx", "scripts/create-user.ts", ...args], {
        cwd: path.resolve(__dirname, "../.."),
        env: { ...process.env, ...stack.env, REVENANT_NEW_USER_PASSWORD: "bob password 2" },
      });
    await cli("bob@example.com", "analyst", "--reset");
    await cli("dan@example.com", "viewer");
    const { authCache } = await import("@/lib/auth/cache");
    authCache().clear();
    expect(await new SessionStore(store().reader, store().writer).principal(session.token)).toBeNull();
    const rows = await queryRows<{ action: string; actor_kind: string; target: string }>(store().reader, "test", "SELECT action, actor_kind, target FROM audit_log WHERE action = 'user.reset'");
    expect(rows).toEqual([{ action: "user.reset", actor_kind: "system", target: "bob@example.com" }]);
    const created = await queryRows<{ actor_kind: string }>(store().reader, "test", "SELECT actor_kind FROM audit_log WHERE action = 'user.create' AND target = 'dan@example.com'");
    expect(created).toEqual([{ actor_kind: "system" }]);
    expect((await new UserStore(store().reader, store().writer).byEmailWithHash("dan@example.com"))!.role).toBe("viewer");
  });
});

describe("client address", () => {
  it("takes the right-most X-Forwarded-For entry that no trusted proxy wrote", () => {
    const r = req("/", { headers: { "x-forwarded-for": "6.6.6.6, 198.51.100.7, 10.0.0.2" } });
    expect(clientAddress(r, 0)).toBe("10.0.0.2");
    expect(clientAddress(r, 1)).toBe("198.51.100.7");
    expect(clientAddress(r, 2)).toBe("6.6.6.6");
    expect(clientAddress(r, 5)).toBe("6.6.6.6");
  });

  it("appends the connecting peer on a real server, so a forged header names nobody", async () => {
    installPeerHook();
    const seen: string[] = [];
    const server = http.createServer((inc, res) => {
      const headers = new Headers(Object.entries(inc.headers).map(([k, v]) => [k, String(v)]) as [string, string][]);
      seen.push(clientAddress(new Request("http://localhost/", { headers }), 0));
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    await fetch(`http://127.0.0.1:${port}/`, { headers: { "x-forwarded-for": "203.0.113.66", "x-revenant-peer": "203.0.113.67" } });
    await fetch(`http://127.0.0.1:${port}/`);
    await new Promise((r) => server.close(r));
    expect(seen).toEqual(["127.0.0.1", "127.0.0.1"]);
  });

  it("limits sign-in per real client, not per forged first hop", async () => {
    resetRateLimits();
    setEnv({ REVENANT_LOGIN_RATE_PER_MIN: "3" });
    const login = (await route("auth/login")).POST;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      // A new forged first hop each time; the proxy-appended address stays the same.
      const res = await login(req("/api/v1/auth/login", { method: "POST", headers: { "x-forwarded-for": `192.0.2.${i}, 198.51.100.20` }, body: { email: `x${i}@example.com`, password: "not the password" } }));
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    setEnv({ REVENANT_LOGIN_RATE_PER_MIN: undefined });
  });
});

describe("password hashing", () => {
  it("runs at most REVENANT_PASSWORD_HASH_CONCURRENCY hashes at once, and all of them finish", async () => {
    hashingHighWater(true);
    const results = await Promise.all(Array.from({ length: 8 }, () => verifyPassword(null, "guess")));
    expect(results).toEqual(Array(8).fill(false));
    expect(hashingHighWater()).toBe(2);
  });
});

describe("failed authentication", () => {
  it("answers 429 with Retry-After once an address has failed too often", async () => {
    resetRateLimits();
    const me = (await route("auth/me")).GET;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await me(req("/api/v1/auth/me", { headers: { authorization: `Bearer rvk_${randomBytes(24).toString("base64url")}`, "x-forwarded-for": "203.0.113.50" } }));
      statuses.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        expect((await res.json()).error.code).toBe("rate_limited");
      }
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    // Forged session cookies count the same way.
    const cookie = await me(req("/api/v1/auth/me", { headers: { cookie: "revenant_session=forged", "x-forwarded-for": "203.0.113.50" } }));
    expect(cookie.status).toBe(429);
    // Another address is not affected.
    const other = await me(req("/api/v1/auth/me", { headers: { authorization: "Bearer rvk_nope", "x-forwarded-for": "203.0.113.51" } }));
    expect(other.status).toBe(401);
    // A valid key from the limited address still passes: junk from a shared address (a NAT, a
    // gateway's egress) cannot lock an enforcement point out.
    const key = (await new ApiKeyStore(store().reader, store().writer).create({ name: "behind the same NAT", role: "viewer", createdBy: "test" })).key;
    const valid = await me(req("/api/v1/auth/me", { headers: { authorization: `Bearer ${key}`, "x-forwarded-for": "203.0.113.50" } }));
    expect(valid.status).toBe(200);
  });

  it("limits failures per key prefix across addresses", async () => {
    resetRateLimits();
    const me = (await route("auth/me")).GET;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await me(req("/api/v1/auth/me", { headers: { authorization: `Bearer rvk_AAAAAA${randomBytes(20).toString("base64url")}`, "x-forwarded-for": `198.18.0.${i}` } }));
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    // A valid key still works from a fresh address.
    const key = (await new ApiKeyStore(store().reader, store().writer).create({ name: "ok", role: "viewer", createdBy: "test" })).key;
    const ok = await me(req("/api/v1/auth/me", { headers: { authorization: `Bearer ${key}`, "x-forwarded-for": "198.18.1.1" } }));
    expect(ok.status).toBe(200);
  });
});

describe("settings", () => {
  it("refuses a bootstrap API key shorter than 32 characters, naming the setting", () => {
    expect(() => parseConfig({ REVENANT_BOOTSTRAP_API_KEY: "short-key-0123456789" })).toThrow(ConfigError);
    expect(() => parseConfig({ REVENANT_BOOTSTRAP_API_KEY: "short-key-0123456789" })).toThrow(/REVENANT_BOOTSTRAP_API_KEY: must be at least 32/);
    expect(parseConfig({ REVENANT_BOOTSTRAP_API_KEY: "k".repeat(32) }).REVENANT_BOOTSTRAP_API_KEY).toHaveLength(32);
    expect(() => parseConfig({ REVENANT_SECRET_KEY: "too-short" })).toThrow(/REVENANT_SECRET_KEY/);
  });

  it("refuses webhook retries longer than deliveries are kept (30 days)", () => {
    expect(parseConfig({ REVENANT_WEBHOOK_RETRY_HOURS: "672" }).REVENANT_WEBHOOK_RETRY_HOURS).toBe(672);
    expect(() => parseConfig({ REVENANT_WEBHOOK_RETRY_HOURS: "720" })).toThrow(/REVENANT_WEBHOOK_RETRY_HOURS/);
  });

  it("creates the embedded data directory readable by its owner only", () => {
    expect(statSync(config().chdbPath).mode & 0o777).toBe(0o700);
    expect(config().chdbPath.startsWith(stack.dataDir)).toBe(true);
  });
});

describe("cookies", () => {
  const signIn = async (headers: Record<string, string> = {}) => {
    resetRateLimits();
    const login = (await route("auth/login")).POST;
    const res = await login(req("/api/v1/auth/login", { method: "POST", headers, body: { email: "carol@example.com", password: "carol password" } }));
    expect(res.status).toBe(200);
    return res.headers.getSetCookie();
  };

  beforeAll(async () => {
    await new UserStore(store().reader, store().writer).create({ email: "carol@example.com", role: "viewer", password: "carol password" });
  });
  afterAll(() => setEnv({ NODE_ENV: "test", REVENANT_COOKIE_SECURE: undefined }));

  it("are __Host- prefixed and Secure by default in production, and only those are read", async () => {
    setEnv({ NODE_ENV: "production", REVENANT_COOKIE_SECURE: undefined });
    const set = await signIn();
    const session = set.find((c) => c.startsWith("__Host-revenant_session="))!;
    expect(session).toMatch(/; Secure/);
    expect(session).toMatch(/Path=\//);
    expect(session).not.toMatch(/Domain=/);
    expect(set.find((c) => c.startsWith("__Host-revenant_csrf="))).toMatch(/; Secure/);
    const token = session.split(";")[0].split("=")[1];
    const me = (await route("auth/me")).GET;
    expect((await me(req("/api/v1/auth/me", { headers: { cookie: `__Host-revenant_session=${token}` } }))).status).toBe(200);
    // The same value under the plain name (as a plain-HTTP attacker could plant it) is not read.
    expect((await me(req("/api/v1/auth/me", { headers: { cookie: `revenant_session=${token}` } }))).status).toBe(401);
  });

  it("stay plain with REVENANT_COOKIE_SECURE=false (plain-HTTP development)", async () => {
    setEnv({ NODE_ENV: "production", REVENANT_COOKIE_SECURE: "false" });
    const set = await signIn();
    expect(set.find((c) => c.startsWith("revenant_session="))).not.toMatch(/Secure/);
    expect(set.some((c) => c.startsWith("__Host-"))).toBe(false);
  });
});

describe("health", () => {
  it("tells the public only status and lag; a signed-in caller gets the details", async () => {
    resetRateLimits();
    const health = (await route("health")).GET;
    const anon = await health(req("/api/v1/health"));
    const body = await anon.json();
    expect(Object.keys(body).sort()).toEqual(["lag", "status"]);
    expect(JSON.stringify(body)).not.toContain(stack.env.KAFKA_BROKERS);
    const forged = await (await health(req("/api/v1/health", { headers: { authorization: "Bearer rvk_forged" } }))).json();
    expect(Object.keys(forged).sort()).toEqual(["lag", "status"]);
    const full = await (await health(req("/api/v1/health", { headers: { authorization: `Bearer ${BOOTSTRAP}` } }))).json();
    expect(full.kafka.brokers).toEqual(stack.env.KAFKA_BROKERS.split(","));
    expect(full).toHaveProperty("clickhouse");
    // An enforcer key may ask the credential lookup only: the public answer.
    const enforcer = (await new ApiKeyStore(store().reader, store().writer).create({ name: "gateway", role: "enforcer", createdBy: "test" })).key;
    const asEnforcer = await (await health(req("/api/v1/health", { headers: { authorization: `Bearer ${enforcer}` } }))).json();
    expect(Object.keys(asEnforcer).sort()).toEqual(["lag", "status"]);
  });

  it("answers a signed-in caller 503 degraded, not 500, while ClickHouse (which holds the keys) does not answer", async () => {
    resetRateLimits();
    const health = (await route("health")).GET;
    // Never used before: not in the authentication cache, so checking it reads ClickHouse.
    const key = (await new ApiKeyStore(store().reader, store().writer).create({ name: "on call", role: "viewer", createdBy: "test" })).key;
    await closeStore();
    setEnv({ CLICKHOUSE_URL: "http://127.0.0.1:1" });
    try {
      const res = await health(req("/api/v1/health", { headers: { authorization: `Bearer ${key}` } }));
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.status).toBe("degraded");
      // The caller could not be checked: the public answer, without the details.
      expect(Object.keys(body).sort()).toEqual(["lag", "status"]);
    } finally {
      await closeStore();
      setEnv({ CLICKHOUSE_URL: undefined });
    }
  });
});

describe("webhook secrets at rest", () => {
  const stored = async (id: string) =>
    (await queryRows<{ secret: string }>(store().reader, "test", "SELECT secret FROM webhook_endpoints FINAL WHERE id = {id:String}", { id }))[0].secret;

  it("are encrypted with REVENANT_SECRET_KEY, readable after a rotation, and re-encrypted under the new key", async () => {
    resetRateLimits();
    setEnv({ REVENANT_SECRET_KEY: KEY_A, REVENANT_SECRET_KEY_PREVIOUS: undefined });
    const post = (await route("webhooks")).POST;
    const res = await post(req("/api/v1/webhooks", { method: "POST", headers: { authorization: `Bearer ${BOOTSTRAP}` }, body: { url: "http://127.0.0.1:9/hook" } }));
    expect(res.status).toBe(201);
    const { id, secret } = await res.json();
    expect(secret).toMatch(/^whsec_/);
    const raw = await stored(id);
    expect(raw).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(raw).not.toContain(secret.slice(6));
    expect((await new EndpointStore(store().reader, store().writer).getWithSecret(id))!.secret).toBe(secret);

    // Rotation: the new key encrypts, the previous one still decrypts.
    setEnv({ REVENANT_SECRET_KEY: KEY_B, REVENANT_SECRET_KEY_PREVIOUS: KEY_A });
    expect((await new EndpointStore(store().reader, store().writer).getWithSecret(id))!.secret).toBe(secret);
    expect(await new EndpointStore(store().reader, store().writer).reseal()).toBe(1);
    const resealed = await stored(id);
    expect(resealed.split(":")[2]).not.toBe(raw.split(":")[2]);
    // Without the previous key the new ciphertext still opens; the old one would not.
    setEnv({ REVENANT_SECRET_KEY: KEY_B, REVENANT_SECRET_KEY_PREVIOUS: undefined });
    expect((await new EndpointStore(store().reader, store().writer).getWithSecret(id))!.secret).toBe(secret);
    expect(() => open(raw)).toThrow(/REVENANT_SECRET_KEY/);
    // A tampered ciphertext is refused, not opened to junk.
    const tampered = resealed.slice(0, -2) + (resealed.endsWith("A") ? "BB" : "AA");
    expect(() => open(tampered)).toThrow();
    // A key that opens nothing: the endpoint stays listed (deliveries still recorded) but cannot sign.
    setEnv({ REVENANT_SECRET_KEY: randomBytes(32).toString("base64") });
    const listed = (await new EndpointStore(store().reader, store().writer).listWithSecrets()).find((e) => e.id === id)!;
    expect(listed.secret).toBe("");
    await expect(new EndpointStore(store().reader, store().writer).getWithSecret(id)).rejects.toThrow(/REVENANT_SECRET_KEY/);
    // It can still be read, paused and deleted; a test send says why it cannot sign.
    const admin = { authorization: `Bearer ${BOOTSTRAP}` };
    const byId = await route("webhooks/[id]");
    const at = { params: Promise.resolve({ id }) };
    expect((await byId.GET(req(`/api/v1/webhooks/${id}`, { headers: admin }), at)).status).toBe(200);
    const paused = await byId.PATCH(req(`/api/v1/webhooks/${id}`, { method: "PATCH", headers: admin, body: { enabled: false } }), at);
    expect(paused.status).toBe(200);
    expect((await paused.json()).enabled).toBe(false);
    expect(await stored(id)).toBe(resealed);
    const sent = await (await route("webhooks/[id]/test")).POST(req(`/api/v1/webhooks/${id}/test`, { method: "POST", headers: admin }), at);
    expect(sent.status).toBe(409);
    expect((await sent.json()).error).toMatchObject({ code: "secret_unavailable", message: expect.stringMatching(/REVENANT_SECRET_KEY_PREVIOUS/) });
    expect((await byId.DELETE(req(`/api/v1/webhooks/${id}`, { method: "DELETE", headers: admin }), at)).status).toBe(204);
    expect((await byId.GET(req(`/api/v1/webhooks/${id}`, { headers: admin }), at)).status).toBe(404);
    setEnv({ REVENANT_SECRET_KEY: undefined });
  });
});

describe("SSF stream tokens at rest", () => {
  const stored = async (id: string) =>
    (await queryRows<{ poll_token: string; transmitter_token: string }>(store().reader, "test",
      "SELECT poll_token, transmitter_token FROM ssf_streams FINAL WHERE id = {id:String}", { id }))[0];
  const streams = () => new StreamStore(store().reader, store().writer);

  it("are encrypted with REVENANT_SECRET_KEY, read back in plain text for the transmitter, and re-encrypted under a new key", async () => {
    const input = {
      name: "sealed", issuer: "https://idp.example", audience: "revenant", delivery: "poll" as const,
      poll_url: "https://idp.example/poll", poll_token: "poll-secret-1234", transmitter_stream_id: "s-1", transmitter_token: "mgmt-secret-5678",
    };
    // Stored before a key was configured: plain text, still read, and sealed by reseal().
    setEnv({ REVENANT_SECRET_KEY: undefined, REVENANT_SECRET_KEY_PREVIOUS: undefined });
    const { stream: plain } = await streams().create(input, "test");
    expect(await stored(plain.id)).toEqual({ poll_token: "poll-secret-1234", transmitter_token: "mgmt-secret-5678" });

    setEnv({ REVENANT_SECRET_KEY: KEY_A, REVENANT_SECRET_KEY_PREVIOUS: undefined });
    const { stream } = await streams().create(input, "test");
    const raw = await stored(stream.id);
    for (const [column, secret] of [["poll_token", "poll-secret-1234"], ["transmitter_token", "mgmt-secret-5678"]] as const) {
      expect(raw[column]).toMatch(/^enc:v1:[0-9a-f]{8}:/);
      expect(raw[column]).not.toContain(secret);
    }
    expect(await streams().pollToken(stream.id)).toBe("poll-secret-1234");
    expect(await streams().transmitterToken(stream.id)).toBe("mgmt-secret-5678");
    expect(JSON.stringify(await streams().get(stream.id))).not.toContain("secret");
    // A change of another setting keeps the tokens, sealed; a new token replaces the old one.
    await streams().update(stream.id, { name: "renamed" });
    expect((await stored(stream.id)).poll_token).toMatch(/^enc:v1:/);
    expect(await streams().pollToken(stream.id)).toBe("poll-secret-1234");
    await streams().update(stream.id, { transmitter_token: "mgmt-secret-9999" });
    expect(await streams().transmitterToken(stream.id)).toBe("mgmt-secret-9999");
    expect(await streams().pollToken(stream.id)).toBe("poll-secret-1234");

    // Rotation: the previous key still opens; reseal() rewrites both streams (one was plain).
    setEnv({ REVENANT_SECRET_KEY: KEY_B, REVENANT_SECRET_KEY_PREVIOUS: KEY_A });
    expect(await streams().reseal()).toBeGreaterThanOrEqual(2);
    expect(await streams().reseal()).toBe(0);
    setEnv({ REVENANT_SECRET_KEY: KEY_B, REVENANT_SECRET_KEY_PREVIOUS: undefined });
    expect(await streams().pollToken(stream.id)).toBe("poll-secret-1234");
    expect(await streams().transmitterToken(stream.id)).toBe("mgmt-secret-9999");
    expect(await streams().pollToken(plain.id)).toBe("poll-secret-1234");
    expect((await stored(plain.id)).poll_token).toMatch(/^enc:v1:/);

    // A key that opens neither token: the stream can still be paused (its tokens kept as
    // they are) and given a new token, which the new key seals.
    setEnv({ REVENANT_SECRET_KEY: randomBytes(32).toString("base64") });
    const before = await stored(stream.id);
    await expect(streams().pollToken(stream.id)).rejects.toThrow(/REVENANT_SECRET_KEY/);
    expect((await streams().update(stream.id, { enabled: false }))!.stream.enabled).toBe(false);
    expect(await stored(stream.id)).toEqual(before);
    await streams().update(stream.id, { poll_token: "poll-secret-new" });
    expect(await streams().pollToken(stream.id)).toBe("poll-secret-new");
    expect((await stored(stream.id)).transmitter_token).toBe(before.transmitter_token);
    setEnv({ REVENANT_SECRET_KEY: undefined });
  });
});

describe("transmitter push authorization headers at rest", () => {
  const stored = async (id: string) =>
    (await queryRows<{ authorization_header: string }>(store().reader, "test",
      "SELECT authorization_header FROM transmitter_streams FINAL WHERE stream_id = {id:String}", { id }))[0].authorization_header;
  const streams = () => new TransmitterStreamStore(store().writer);
  const input: StreamInput = {
    aud: "gw", description: "", layer: "", events_requested: [CAEP_SESSION_REVOKED],
    delivery: { method: PUSH, endpoint_url: "https://gw.example/ssf", authorization_header: "Bearer gw-secret-1234" },
  };

  it("are sealed when a key is set, and sealed or re-sealed under a new key by reseal()", async () => {
    setEnv({ REVENANT_SECRET_KEY: undefined, REVENANT_SECRET_KEY_PREVIOUS: undefined });
    const { stream: plain } = await streams().create(input);
    expect(await stored(plain.stream_id)).toBe("Bearer gw-secret-1234");
    setEnv({ REVENANT_SECRET_KEY: KEY_A, REVENANT_SECRET_KEY_PREVIOUS: undefined });
    const { stream } = await streams().create(input);
    expect(await stored(stream.stream_id)).toMatch(/^enc:v1:/);
    expect(await stored(stream.stream_id)).not.toContain("gw-secret");
    setEnv({ REVENANT_SECRET_KEY: KEY_B, REVENANT_SECRET_KEY_PREVIOUS: KEY_A });
    expect(await streams().reseal()).toBeGreaterThanOrEqual(2);
    expect(await streams().reseal()).toBe(0);
    setEnv({ REVENANT_SECRET_KEY: KEY_B, REVENANT_SECRET_KEY_PREVIOUS: undefined });
    for (const id of [plain.stream_id, stream.stream_id]) expect(open(await stored(id))).toBe("Bearer gw-secret-1234");
    setEnv({ REVENANT_SECRET_KEY: undefined });
  });
});

describe("admin changes", () => {
  const users = () => new UserStore(store().reader, store().writer);
  const patchUser = async (id: string, body: unknown) =>
    (await route("users/[id]")).PATCH(req(`/api/v1/users/${id}`, { method: "PATCH", headers: { authorization: `Bearer ${BOOTSTRAP}` }, body }), { params: Promise.resolve({ id }) });

  it("never lose the last enabled admin to two demotions at once", async () => {
    resetRateLimits();
    for (const u of await users().enabledAdmins()) await users().update(u.id, { disabled: true });
    const a1 = await users().create({ email: `a1-${Date.now()}@corp.example`, role: "admin", password: "admin password one" });
    const a2 = await users().create({ email: `a2-${Date.now()}@corp.example`, role: "admin", password: "admin password two" });
    const answers = await Promise.all([patchUser(a1.id, { role: "viewer" }), patchUser(a2.id, { disabled: true })]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await users().enabledAdmins()).toHaveLength(1);
  });

  it("refuse an empty change, which would end the user's sessions for nothing", async () => {
    resetRateLimits();
    const u = await users().create({ email: `empty-${Date.now()}@corp.example`, role: "viewer", password: "a password here" });
    const res = await patchUser(u.id, {});
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/nothing to change/);
    const unknown = await patchUser(u.id, { role: "analyst", email: "other@corp.example" });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error).toMatchObject({ code: "invalid_parameter", param: "email" });
    expect(await queryRows(store().reader, "test", "SELECT 1 FROM audit_log WHERE action = 'user.update' AND target = {id:String}", { id: u.id })).toEqual([]);
  });

  it("audit a password reset as one", async () => {
    resetRateLimits();
    const u = await users().create({ email: `reset-${Date.now()}@corp.example`, role: "viewer", password: "first password here" });
    expect((await patchUser(u.id, { password: "second password here" })).status).toBe(200);
    const [row] = await queryRows<{ details: string }>(store().reader, "test", "SELECT details FROM audit_log WHERE action = 'user.update' AND target = {id:String}", { id: u.id });
    expect(JSON.parse(row.details)).toMatchObject({ email: u.email, credential_reset: true });
  });
});
