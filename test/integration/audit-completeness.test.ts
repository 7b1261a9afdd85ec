/**
 * The audit log records refusals (401, 403, CSRF, 429), not only successes, and an admin
 * change that cannot be audited is not made. Real route handlers, real embedded ClickHouse.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { ApiKeyStore } from "@/lib/auth/keys";
import { UserStore } from "@/lib/auth/users";
import { resetRateLimits } from "@/lib/http/rate-limit";
import type { RouteHandler } from "@/lib/http/route";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { configureTestStack } from "../helpers/stack";

const API = path.resolve(__dirname, "../../app/api/v1");
const route = async (p: string) => (await import(path.join(API, p, "route.ts"))) as Record<string, RouteHandler>;

function send(h: RouteHandler, url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown; params?: Record<string, string> } = {}) {
  return h(
    new Request(`http://localhost${url}`, {
      method: init.method ?? "GET",
      headers: { "content-type": "application/json", ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }),
    { params: Promise.resolve(init.params ?? {}) },
  );
}

interface Row {
  action: string;
  target: string;
  actor_kind: string;
  details: string;
  ip: string;
}
const rows = (action: string) => queryRows<Row>(store().reader, "test", "SELECT action, target, actor_kind, details, ip FROM audit_log WHERE action = {a:String} ORDER BY at", { a: action });

let admin: string;
let viewer: string;
beforeAll(async () => {
  configureTestStack({ REVENANT_AUTH_FAILURES_PER_MIN: "3", REVENANT_EVENTS_RATE_PER_MIN: "1" });
  await migrate(store().writer);
  admin = (await new ApiKeyStore(store().reader, store().writer).create({ name: "admin", role: "admin", createdBy: "test" })).key;
  viewer = (await new ApiKeyStore(store().reader, store().writer).create({ name: "viewer", role: "viewer", createdBy: "test" })).key;
});
afterAll(async () => {
  await closeStore();
});

describe("audit of refusals", () => {
  it("records 401s, 403s, CSRF refusals and rate-limit hits, with the address and the route", async () => {
    resetRateLimits();
    const keys = await route("keys");
    expect((await send(keys.GET, "/api/v1/keys", { headers: { "x-forwarded-for": "203.0.113.7" } })).status).toBe(401);
    expect((await send(keys.GET, "/api/v1/keys", { headers: { authorization: `Bearer ${viewer}` } })).status).toBe(403);
    // A signed-in person without the CSRF header.
    await new UserStore(store().reader, store().writer).create({ email: "pat@example.com", role: "admin", password: "pat password 1" });
    const login = await send((await route("auth/login")).POST, "/api/v1/auth/login", { method: "POST", body: { email: "pat@example.com", password: "pat password 1" } });
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    expect((await send(keys.POST, "/api/v1/keys", { method: "POST", headers: { cookie }, body: { name: "x", role: "viewer" } })).status).toBe(403);
    // Failed bearer authentications until the limiter answers 429.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await send(keys.GET, "/api/v1/keys", { headers: { authorization: `Bearer rvk_bad${i}`, "x-forwarded-for": "198.51.100.4" } })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);

    const refused = (await rows("access.refused")).map((r) => ({ ...JSON.parse(r.details), target: r.target, ip: r.ip, actor: r.actor_kind }));
    expect(refused).toEqual(
      expect.arrayContaining([
        { status: 401, code: "unauthenticated", method: "GET", target: "/api/v1/keys", ip: "203.0.113.7", actor: "anonymous" },
        { status: 403, code: "forbidden", method: "GET", target: "/api/v1/keys", ip: "", actor: "api_key" },
        { status: 403, code: "csrf", method: "POST", target: "/api/v1/keys", ip: "", actor: "user" },
      ]),
    );
    expect(refused.filter((r) => r.ip === "198.51.100.4")).toHaveLength(3);
    const limited = await rows("rate_limit.hit");
    expect(limited.filter((r) => r.ip === "198.51.100.4")).toHaveLength(2);
  });

  it("records failed sign-ins", async () => {
    resetRateLimits();
    const res = await send((await route("auth/login")).POST, "/api/v1/auth/login", { method: "POST", body: { email: "pat@example.com", password: "not pat's password" } });
    expect(res.status).toBe(401);
    const failed = (await rows("auth.login_failed")).filter((r) => r.target === "pat@example.com");
    expect(failed.map((r) => JSON.parse(r.details).reason)).toEqual(["wrong_password"]);
  });
});

describe("admin changes need their audit row", () => {
  it("refuses with 503 and changes nothing while the audit log cannot be written", async () => {
    resetRateLimits();
    const auth = { authorization: `Bearer ${admin}` };
    const keysBefore = (await new ApiKeyStore(store().reader, store().writer).list({ limit: 1000 })).items.length;
    const val = await new UserStore(store().reader, store().writer).create({ email: "val@example.com", role: "viewer", password: "val password 1" });
    await store().writer.command({ query: "RENAME TABLE audit_log TO audit_log_unavailable" });
    try {
      const created = await send((await route("keys")).POST, "/api/v1/keys", { method: "POST", headers: auth, body: { name: "unaudited", role: "admin" } });
      expect(created.status).toBe(503);
      expect((await created.json()).error.code).toBe("audit_unavailable");
      expect(created.headers.get("retry-after")).toBeTruthy();
      const user = await send((await route("users")).POST, "/api/v1/users", { method: "POST", headers: auth, body: { email: "ghost@example.com", role: "admin", password: "ghost password" } });
      expect(user.status).toBe(503);
      const promote = await send((await route("users/[id]")).PATCH, `/api/v1/users/${val.id}`, { method: "PATCH", headers: auth, body: { role: "admin" }, params: { id: val.id } });
      expect(promote.status).toBe(503);
    } finally {
      await store().writer.command({ query: "RENAME TABLE audit_log_unavailable TO audit_log" });
    }
    expect((await new ApiKeyStore(store().reader, store().writer).list({ limit: 1000 })).items.length).toBe(keysBefore);
    expect(await new UserStore(store().reader, store().writer).byEmailWithHash("ghost@example.com")).toBeNull();
    expect((await new UserStore(store().reader, store().writer).byId(val.id))!.role).toBe("viewer");
    // With the log back, the same change goes through and is recorded under the key's id.
    const ok = await send((await route("keys")).POST, "/api/v1/keys", { method: "POST", headers: auth, body: { name: "audited", role: "viewer" } });
    expect(ok.status).toBe(201);
    const key = await ok.json();
    expect((await rows("key.create")).map((r) => r.target)).toContain(key.id);
  });
});
