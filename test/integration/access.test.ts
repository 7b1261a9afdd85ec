/**
 * Access control (docs/ROLES.md, docs/API.md), against the real route handlers and an embedded
 * ClickHouse: every route under app/api/v1 (found on disk, so new routes are covered
 * automatically) answers 401 without credentials and 403 for the role just below its need;
 * sign-in, sessions, CSRF, API keys, rate limits and the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import path from "node:path";
import { KEY_ROLES, ROLES, type Role } from "@/lib/auth/roles";
import { ApiKeyStore } from "@/lib/auth/keys";
import { UserStore } from "@/lib/auth/users";
import { ensureFirstAdmin } from "@/lib/auth/bootstrap";
import { resetRateLimits } from "@/lib/http/rate-limit";
import type { RouteHandler } from "@/lib/http/route";
import { closeStore, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { configureTestStack } from "../helpers/stack";

const API_ROOT = path.resolve(__dirname, "../../app/api/v1");
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
/** The only routes anyone may call: health (docs/API.md) and sign-in (how a session starts, by password or SSO). */
// The SSF push endpoint authenticates transmitters itself (push token + SET signature).
const PUBLIC = new Set(["GET /api/v1/health", "POST /api/v1/auth/login", "GET /api/v1/auth/oidc/login", "GET /api/v1/auth/oidc/callback", "POST /api/v1/ssf/streams/[id]/push"]);

interface RouteCase {
  method: (typeof METHODS)[number];
  path: string;
  url: string;
  params: Record<string, string>;
  handler: RouteHandler;
}

function routeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? routeFiles(path.join(dir, e.name)) : e.name === "route.ts" ? [path.join(dir, e.name)] : [],
  );
}

async function loadRoutes(): Promise<RouteCase[]> {
  const cases: RouteCase[] = [];
  for (const file of routeFiles(API_ROOT).sort()) {
    const rel = path.relative(API_ROOT, path.dirname(file)).split(path.sep).filter(Boolean);
    const params: Record<string, string> = {};
    const segments = rel.map((s) => {
      const m = /^\[(?:\.\.\.)?(.+)\]$/.exec(s);
      if (!m) return s;
      params[m[1]] = "does-not-exist";
      return "does-not-exist";
    });
    const mod = (await import(file)) as Record<string, unknown>;
    for (const method of METHODS) {
      const handler = mod[method] as RouteHandler | undefined;
      if (!handler) continue;
      const p = "/api/v1" + (rel.length ? "/" + rel.join("/") : "");
      cases.push({ method, path: p, url: "/api/v1" + (segments.length ? "/" + segments.join("/") : ""), params, handler });
    }
  }
  return cases;
}

function request(c: { method: string; url: string }, headers: Record<string, string> = {}, body?: string): Request {
  return new Request(`http://localhost${c.url}`, { method: c.method, headers, body: c.method === "GET" ? undefined : (body ?? "{}") });
}

const call = (c: RouteCase, headers: Record<string, string> = {}, body?: string) =>
  c.handler(request(c, { "content-type": "application/json", ...headers }, body), { params: Promise.resolve(c.params) });

/**
 * The error code of a refusal: the API's `{"error":{"code"}}`, or, from OTLP/HTTP's route,
 * a google.rpc.Status whose message starts with it (lib/otlp/http-answer.ts).
 */
async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { error?: { code?: string }; message?: string };
  return body.error?.code ?? body.message?.split(":")[0];
}

// One embedded engine per test process: one stack for the whole file.
beforeAll(async () => {
  configureTestStack({ REVENANT_ADMIN_EMAIL: "Root@Example.com", REVENANT_ADMIN_PASSWORD: "correct horse battery", REVENANT_LOGIN_RATE_PER_MIN: "10", REVENANT_AUTH_FAILURES_PER_MIN: "100000" });
  await migrate(store().writer);
});
afterAll(async () => {
  await closeStore();
});

describe("access control on every API route", () => {
  let routes: RouteCase[];
  const keys = {} as Record<Role, string>;

  beforeAll(async () => {
    const store_ = new ApiKeyStore(store().reader, store().writer);
    for (const role of KEY_ROLES) keys[role] = (await store_.create({ name: `test ${role}`, role, createdBy: "test" })).key;
    routes = await loadRoutes();
  });

  it("finds the routes on disk, each wrapped by apiRoute with a declared role", () => {
    expect(routes.length).toBeGreaterThan(15);
    for (const r of routes) {
      expect(r.handler.requiredRole, `${r.method} ${r.path} is not wrapped by apiRoute`).not.toBeUndefined();
      if (r.handler.requiredRole === null) expect(PUBLIC, `${r.method} ${r.path} is public`).toContain(`${r.method} ${r.path}`);
    }
    const declared = Object.fromEntries(routes.map((r) => [`${r.method} ${r.path}`, r.handler.requiredRole]));
    // Spot checks of the role ladder (docs/ROLES.md).
    expect(declared["PATCH /api/v1/alerts/[id]"]).toBe("analyst");
    // The enforcer role reaches the credential status lookup and nothing else.
    const enforcerRoutes = Object.entries(declared).filter(([, role]) => role === "enforcer").map(([k]) => k).sort();
    expect(enforcerRoutes).toEqual(["GET /api/v1/credentials/[id]/status", "POST /api/v1/credentials/status"]);
    for (const [k, role] of Object.entries(declared)) {
      if (role === "enforcer") continue;
      if (/\/api\/v1\/(webhooks|keys|users|audit)\b/.test(k)) expect(role, k).toBe("admin");
      if (!k.startsWith("GET ") && !PUBLIC.has(k) && !k.includes("/auth/")) expect(ROLES.indexOf(role as (typeof ROLES)[number]), k).toBeGreaterThanOrEqual(1);
    }
  });

  it("answers 401 without credentials or with a wrong key, on every non-public route", async () => {
    for (const r of routes) {
      if (r.handler.requiredRole === null) continue;
      const variants: Record<string, string>[] = [{}, { authorization: "Bearer rvk_not-a-real-key" }, { authorization: "Basic abc" }, { cookie: "revenant_session=forged" }];
      for (const headers of variants) {
        const res = await call(r, headers);
        expect(res.status, `${r.method} ${r.path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(await errorCode(res)).toBe("unauthenticated");
      }
    }
  });

  it("answers 403 for the role just below the route's need, and lets the needed role through", async () => {
    let checked = 0;
    for (const r of routes) {
      const need = r.handler.requiredRole;
      if (need === null) continue;
      if (need === "enforcer") continue; // its own table, below
      const below = ROLES[ROLES.indexOf(need) - 1];
      if (below) {
        const res = await call(r, { authorization: `Bearer ${keys[below]}` });
        expect(res.status, `${r.method} ${r.path} as ${below}`).toBe(403);
        expect(await errorCode(res)).toBe("forbidden");
        checked++;
      }
      const ok = await call(r, { authorization: `Bearer ${keys[need]}` });
      expect([401, 403], `${r.method} ${r.path} as ${need} answered ${ok.status}`).not.toContain(ok.status);
    }
    expect(checked).toBeGreaterThan(5);
  });

  it("lets only enforcer and admin keys call the status lookup, and enforcer keys nothing else", async () => {
    const allowed: Record<Role, boolean> = { viewer: false, analyst: false, investigator: false, admin: true, enforcer: true };
    let lookups = 0;
    for (const r of routes) {
      const need = r.handler.requiredRole;
      if (need === null) continue;
      for (const role of KEY_ROLES) {
        const res = await call(r, { authorization: `Bearer ${keys[role]}` }, JSON.stringify({ ids: ["does-not-exist"] }));
        const expectOk = need === "enforcer" ? allowed[role] : role !== "enforcer" && ROLES.indexOf(role) >= ROLES.indexOf(need);
        if (expectOk) expect([401, 403], `${r.method} ${r.path} as ${role} answered ${res.status}`).not.toContain(res.status);
        else expect(res.status, `${r.method} ${r.path} as ${role}`).toBe(403);
        if (need === "enforcer" && expectOk) {
          expect(res.status, `${r.method} ${r.path} as ${role}`).toBe(200);
          const body = await res.json();
          expect(body.items?.[0] ?? body).toEqual({ credential_id: "does-not-exist", covered: false, revocations: [] });
          lookups++;
        } else await res.body?.cancel();
      }
    }
    expect(lookups).toBe(4);
  });

  it("keeps exports to investigators, inside a viewer route", async () => {
    const r = routes.find((x) => x.method === "GET" && x.path === "/api/v1/post-revocation-actions")!;
    for (const [role, status] of [["analyst", 403], ["investigator", 200]] as const) {
      const res = await r.handler(request({ method: "GET", url: `${r.url}?format=csv` }, { authorization: `Bearer ${keys[role]}` }), { params: Promise.resolve({}) });
      expect(res.status, role).toBe(status);
      await res.body?.cancel();
    }
  });
});

describe("sign-in, sessions, CSRF, keys, audit", () => {
  const route = async (p: string) => (await import(path.join(API_ROOT, p, "route.ts"))) as Record<string, RouteHandler>;
  const send = (h: RouteHandler, url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown; params?: Record<string, string> } = {}) =>
    h(
      new Request(`http://localhost${url}`, {
        method: init.method ?? "GET",
        headers: { "content-type": "application/json", ...init.headers },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      }),
      { params: Promise.resolve(init.params ?? {}) },
    );
  const cookiesOf = (res: Response) => Object.fromEntries(res.headers.getSetCookie().map((c) => c.split(";")[0].split("=") as [string, string]));

  it("creates the first admin once from the environment", async () => {
    expect(await ensureFirstAdmin()).toBe("created");
    expect(await ensureFirstAdmin()).toBe("done_before");
    const users = (await new UserStore(store().reader, store().writer).list({ limit: 1000 })).items;
    expect(users.map((u) => [u.email, u.role])).toEqual([["root@example.com", "admin"]]);
    expect(JSON.stringify(users)).not.toContain("argon2");
  });

  it("signs in with a password, sets httpOnly SameSite cookies, and needs the CSRF header for changes", async () => {
    resetRateLimits();
    const login = (await route("auth/login")).POST;
    const bad = await send(login, "/api/v1/auth/login", { method: "POST", body: { email: "root@example.com", password: "wrong password!" } });
    expect(bad.status).toBe(401);
    const unknown = await send(login, "/api/v1/auth/login", { method: "POST", body: { email: "nobody@example.com", password: "wrong password!" } });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual(await bad.json());
    const formPost = await login(new Request("http://localhost/api/v1/auth/login", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }));
    expect(formPost.status).toBe(415);

    const ok = await send(login, "/api/v1/auth/login", { method: "POST", body: { email: "ROOT@example.com", password: "correct horse battery" } });
    expect(ok.status).toBe(200);
    const setCookies = ok.headers.getSetCookie();
    const session = setCookies.find((c) => c.startsWith("revenant_session="))!;
    const csrfCookie = setCookies.find((c) => c.startsWith("revenant_csrf="))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(csrfCookie).not.toMatch(/HttpOnly/);
    const { revenant_session, revenant_csrf } = cookiesOf(ok);
    const body = await ok.json();
    expect(body.user.role).toBe("admin");
    expect(body.csrf_token).toBe(decodeURIComponent(revenant_csrf));
    const cookie = `revenant_session=${revenant_session}; revenant_csrf=${revenant_csrf}`;

    const me = await send((await route("auth/me")).GET, "/api/v1/auth/me", { headers: { cookie } });
    expect(await me.json()).toMatchObject({ kind: "user", name: "root@example.com", role: "admin" });

    // Cookie-authenticated change without / with a wrong / with the right CSRF header.
    const keysRoute = await route("keys");
    const noCsrf = await send(keysRoute.POST, "/api/v1/keys", { method: "POST", headers: { cookie }, body: { name: "ci", role: "viewer" } });
    expect(noCsrf.status).toBe(403);
    expect((await noCsrf.json()).error.code).toBe("csrf");
    const wrongCsrf = await send(keysRoute.POST, "/api/v1/keys", { method: "POST", headers: { cookie, "x-csrf-token": "nope" }, body: { name: "ci", role: "viewer" } });
    expect(wrongCsrf.status).toBe(403);
    const created = await send(keysRoute.POST, "/api/v1/keys", { method: "POST", headers: { cookie, "x-csrf-token": decodeURIComponent(revenant_csrf) }, body: { name: "ci", role: "viewer" } });
    expect(created.status).toBe(201);
    const key = await created.json();
    expect(key.key).toMatch(/^rvk_/);

    // The key works as a bearer (no CSRF needed), is listed without its secret, and stops working when revoked.
    const meAsKey = await send((await route("auth/me")).GET, "/api/v1/auth/me", { headers: { authorization: `Bearer ${key.key}` } });
    expect(await meAsKey.json()).toMatchObject({ kind: "api_key", role: "viewer", name: "ci" });
    const list = await send(keysRoute.GET, "/api/v1/keys", { headers: { cookie } });
    const listed = JSON.stringify(await list.json());
    expect(listed).toContain(key.id);
    expect(listed).not.toContain(key.key);
    const revoke = await send((await route("keys/[id]")).DELETE, `/api/v1/keys/${key.id}`, { method: "DELETE", headers: { cookie, "x-csrf-token": decodeURIComponent(revenant_csrf) }, params: { id: key.id } });
    expect(revoke.status).toBe(200);
    const afterRevoke = await send((await route("auth/me")).GET, "/api/v1/auth/me", { headers: { authorization: `Bearer ${key.key}` } });
    expect(afterRevoke.status).toBe(401);

    // Logout ends the session.
    const logout = await send((await route("auth/logout")).POST, "/api/v1/auth/logout", { method: "POST", headers: { cookie, "x-csrf-token": decodeURIComponent(revenant_csrf) } });
    expect(logout.status).toBe(204);
    expect(logout.headers.getSetCookie().join()).toMatch(/revenant_session=;.*Max-Age=0/);
    const meAfter = await send((await route("auth/me")).GET, "/api/v1/auth/me", { headers: { cookie } });
    expect(meAfter.status).toBe(401);

    // The audit log saw it all, and holds no secret.
    const auditRes = await send((await route("audit")).GET, "/api/v1/audit?limit=100", { headers: { authorization: `Bearer ${(await new ApiKeyStore(store().reader, store().writer).create({ name: "auditor", role: "admin", createdBy: "test" })).key}` } });
    const audit = await auditRes.json();
    const actions = audit.items.map((e: { action: string }) => e.action);
    for (const a of ["auth.login_failed", "auth.login", "key.create", "key.revoke", "auth.logout"]) expect(actions).toContain(a);
    expect(JSON.stringify(audit)).not.toContain(key.key);
    expect(JSON.stringify(audit)).not.toContain("correct horse");
    const failed = audit.items.find((e: { action: string; target: string }) => e.action === "auth.login_failed" && e.target === "nobody@example.com");
    expect(failed.details.reason).toBe("unknown_email");
  });

  it("rate-limits sign-in per address", async () => {
    resetRateLimits();
    const login = (await route("auth/login")).POST;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await send(login, "/api/v1/auth/login", { method: "POST", headers: { "x-forwarded-for": "203.0.113.9" }, body: { email: `u${i}@example.com`, password: "whatever-it-is" } });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });

  it("refuses bodies over the size limit: declared ones before reading, streamed ones while reading", async () => {
    const users = (await route("users")).POST;
    const admin = (await new ApiKeyStore(store().reader, store().writer).create({ name: "big", role: "admin", createdBy: "test" })).key;
    const headers = { authorization: `Bearer ${admin}`, "content-type": "application/json" };
    // A declared Content-Length over the limit: refused without touching the body (which
    // here would not even be JSON).
    const declared = await users(new Request("http://localhost/api/v1/users", { method: "POST", headers: { ...headers, "content-length": String(5 * 1024 * 1024) }, body: "not read" }));
    expect(declared.status).toBe(413);
    // No Content-Length (chunked): the streaming reader stops at the limit.
    const huge = "x".repeat(2 * 1024 * 1024);
    const streamed = await users(new Request("http://localhost/api/v1/users", { method: "POST", headers, body: JSON.stringify({ email: huge }) }));
    expect(streamed.status).toBe(413);
  });
});
