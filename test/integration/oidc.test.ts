/**
 * OpenID Connect sign-in against a real OpenID Provider (the certified `oidc-provider`
 * package, started here on a free port), driven over HTTP end to end: Revenant's own
 * route handlers are served by a small HTTP server, and the browser is a fetch loop with
 * manual redirects and a cookie jar, which submits the provider's real login and consent
 * forms. Nothing is stubbed: discovery, PKCE, the code exchange, ID-token checks and the
 * userinfo call all happen.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import Provider from "oidc-provider";
import { resetConfig } from "@/lib/config";
import { resetRateLimits } from "@/lib/http/rate-limit";
import type { RouteHandler } from "@/lib/http/route";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { UserStore } from "@/lib/auth/users";
import { configureTestStack } from "../helpers/stack";

const API = path.resolve(__dirname, "../../app/api/v1");
/** `email_verified: null`: the provider sends no such claim (as some do). */
const PEOPLE: Record<string, { email: string; groups: string[]; email_verified?: boolean | null }> = {
  ada: { email: "ada@corp.example", groups: ["staff", "soc-analysts"] },
  grace: { email: "grace@corp.example", groups: ["soc-admins", "soc-analysts"] },
  eve: { email: "eve@corp.example", groups: ["marketing"] },
  // Someone who could set any email at the provider, claiming a password admin's.
  mallory: { email: "root@corp.example", groups: ["soc-analysts"], email_verified: null },
  lin: { email: "lin@corp.example", groups: ["soc-admins"] },
};

const listen = (server: http.Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));

/** Serves Revenant's route handlers (the same ones `next start` serves) over real HTTP. */
function revenantListener(routes: Record<string, RouteHandler>): http.RequestListener {
  return async (inc, out) => {
    const url = `http://${inc.headers.host}${inc.url}`;
    const handler = routes[`${inc.method} ${new URL(url).pathname}`];
    if (!handler) {
      out.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of inc) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(inc.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    const res = await handler(new Request(url, { method: inc.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined }));
    const outHeaders: Record<string, string | string[]> = {};
    res.headers.forEach((v, k) => k !== "set-cookie" && (outHeaders[k] = v));
    if (res.headers.getSetCookie().length) outHeaders["set-cookie"] = res.headers.getSetCookie();
    out.writeHead(res.status, outHeaders).end(Buffer.from(await res.arrayBuffer()));
  };
}

/** A browser, as far as redirects, cookies (per host:port) and HTML forms go. */
class Browser {
  private readonly jar = new Map<string, Map<string, string>>();
  readonly visited: string[] = [];

  cookies(origin: string): Map<string, string> {
    const host = new URL(origin).host;
    if (!this.jar.has(host)) this.jar.set(host, new Map());
    return this.jar.get(host)!;
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const jar = this.cookies(url);
    const headers: Record<string, string> = {};
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    let body: string | undefined;
    if (init.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    }
    this.visited.push(`${init.method ?? "GET"} ${url}`);
    const res = await fetch(url, { method: init.method ?? "GET", headers, body, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  /**
   * Follows redirects from `url`, submitting the provider's forms as a person would (the
   * login form with `login`, then consent), until a redirect points at a URL `stopAt`
   * accepts (returned, not requested) or a page without a form is reached.
   */
  async run(url: string, login: string, stopAt: (u: URL) => boolean): Promise<{ res: Response | null; url: string }> {
    let current = url;
    let init: { method?: string; form?: Record<string, string> } = {};
    for (let step = 0; step < 20; step++) {
      const res = await this.request(current, init);
      init = {};
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, current);
        if (stopAt(next)) return { res: null, url: next.toString() };
        current = next.toString();
        continue;
      }
      const html = await res.text();
      const form = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(html);
      if (!form) return { res: new Response(html, { status: res.status }), url: current };
      const fields: Record<string, string> = {};
      for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) fields[m[1]] = m[2];
      if (/name="login"/.test(html)) Object.assign(fields, { login, password: "any" });
      current = new URL(form[1], current).toString();
      init = { method: "POST", form: fields };
    }
    throw new Error(`no end to the redirects: ${this.visited.slice(-5).join(" → ")}`);
  }
}

let op: http.Server;
let app: http.Server;
let appOrigin: string;
let opOrigin: string;

beforeAll(async () => {
  app = http.createServer();
  const appPort = await listen(app);
  appOrigin = `http://127.0.0.1:${appPort}`;
  op = http.createServer();
  const opPort = await listen(op);
  opOrigin = `http://127.0.0.1:${opPort}`;

  const provider = new Provider(opOrigin, {
    clients: [
      {
        client_id: "revenant",
        client_secret: "revenant-client-secret-for-the-test",
        redirect_uris: [`${appOrigin}/api/v1/auth/oidc/callback`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
    scopes: ["openid", "email", "groups"],
    cookies: { keys: ["cookie-signing-key-for-the-test"] },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx: unknown, id: string) {
      const person = PEOPLE[id];
      if (!person) return undefined;
      const verified = person.email_verified === null ? {} : { email_verified: person.email_verified ?? true };
      return { accountId: id, claims: async () => ({ sub: id, email: person.email, ...verified, groups: person.groups }) };
    },
  });
  op.on("request", provider.callback());

  configureTestStack({
    REVENANT_PUBLIC_URL: appOrigin,
    REVENANT_OIDC_ISSUER: opOrigin,
    REVENANT_OIDC_CLIENT_ID: "revenant",
    REVENANT_OIDC_CLIENT_SECRET: "revenant-client-secret-for-the-test",
    REVENANT_OIDC_SCOPES: "openid email groups",
    REVENANT_OIDC_ROLE_CLAIM: "groups",
    REVENANT_OIDC_ROLE_MAP: "soc-admins=admin,soc-analysts=analyst",
    REVENANT_OIDC_ALLOW_HTTP: "1",
    REVENANT_COOKIE_SECURE: "false",
  });
  await migrate(store().writer);
  const load = async (p: string) => (await import(path.join(API, p, "route.ts"))) as Record<string, RouteHandler>;
  const routes = {
    "GET /api/v1/auth/oidc/login": (await load("auth/oidc/login")).GET,
    "GET /api/v1/auth/oidc/callback": (await load("auth/oidc/callback")).GET,
    "GET /api/v1/auth/me": (await load("auth/me")).GET,
    "POST /api/v1/auth/login": (await load("auth/login")).POST,
  };
  app.on("request", revenantListener(routes));
});

afterAll(async () => {
  await new Promise((r) => op.close(r));
  await new Promise((r) => app.close(r));
  await closeStore();
});

const isCallback = (u: URL) => u.origin === appOrigin && u.pathname === "/api/v1/auth/oidc/callback";

async function signIn(who: string, next = "/alerts") {
  const browser = new Browser();
  const { url } = await browser.run(`${appOrigin}/api/v1/auth/oidc/login?next=${encodeURIComponent(next)}`, who, isCallback);
  expect(new URL(url).origin, "the provider sends the browser back to Revenant").toBe(appOrigin);
  const back = await browser.request(url);
  expect(back.status).toBe(302);
  const landed = new URL(back.headers.get("location")!, appOrigin);
  const me = await browser.request(`${appOrigin}/api/v1/auth/me`);
  return { browser, landed, me: me.status === 200 ? await me.json() : null, status: me.status };
}

describe("single sign-on with OpenID Connect", () => {
  it("signs a new person in through the provider's real login and consent, creating the user with the mapped role", async () => {
    const { browser, landed, me } = await signIn("ada", "/alerts?status=open");
    expect(landed.pathname + landed.search).toBe("/alerts?status=open");
    expect(me).toMatchObject({ kind: "user", name: "ada@corp.example", role: "analyst" });
    // The flow went out to the provider with PKCE (S256) and back to the callback.
    const authorize = browser.visited.find((v) => v.startsWith(`GET ${opOrigin}/auth?`))!;
    const params = new URL(authorize.slice(4)).searchParams;
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get("state")).toBeTruthy();
    expect(browser.visited.some((v) => v.startsWith(`GET ${appOrigin}/api/v1/auth/oidc/callback?code=`))).toBe(true);
    const user = await new UserStore(store().reader, store().writer).byEmailWithHash("ada@corp.example");
    expect(user).toMatchObject({ role: "analyst", password_hash: "" });
  });

  it("takes the highest mapped role, and re-reads it at every sign-in, audited as a role change", async () => {
    // Another admin, with a password: the provider may demote grace without leaving none.
    await new UserStore(store().reader, store().writer).create({ email: "root@corp.example", role: "admin", password: "root password here" });
    const asAdmin = await signIn("grace");
    expect(asAdmin.me.role).toBe("admin");
    PEOPLE.grace.groups = ["soc-analysts"];
    expect((await signIn("grace")).me.role).toBe("analyst");
    // The session opened as admin ended with the role change, as an admin's change would end it.
    expect((await asAdmin.browser.request(`${appOrigin}/api/v1/auth/me`)).status).toBe(401);
    expect((await new UserStore(store().reader, store().writer).list({ limit: 1000 })).items.filter((u) => u.email === "grace@corp.example")).toHaveLength(1);
    const changes = await queryRows<{ details: string }>(store().reader, "test", "SELECT details FROM audit_log WHERE action = 'user.update' ORDER BY at");
    expect(changes.map((c) => JSON.parse(c.details))).toContainEqual(expect.objectContaining({ email: "grace@corp.example", role: "analyst", previous_role: "admin", via: "oidc" }));
  });

  it("does not let an identity the provider does not vouch for into a password account of the same email", async () => {
    const refused = await signIn("mallory");
    expect(refused.status).toBe(401);
    expect(refused.landed.searchParams.get("sso_error")).toBe("email_not_verified");
    expect(await new UserStore(store().reader, store().writer).byEmailWithHash("root@corp.example")).toMatchObject({ role: "admin" });
  });

  it("refuses a sign-in whose mapped role would leave no enabled admin", async () => {
    const users = new UserStore(store().reader, store().writer);
    expect((await signIn("lin")).me.role).toBe("admin");
    const root = (await users.byEmailWithHash("root@corp.example"))!;
    await users.update(root.id, { disabled: true }); // lin is the last enabled admin now
    try {
      PEOPLE.lin.groups = ["soc-analysts"];
      const refused = await signIn("lin");
      expect(refused.landed.searchParams.get("sso_error")).toBe("last_admin");
      expect(await users.byEmailWithHash("lin@corp.example")).toMatchObject({ role: "admin" });
    } finally {
      await users.update(root.id, { disabled: false });
    }
  });

  it("refuses someone whose groups map to no role, unless a default role is set", async () => {
    const refused = await signIn("eve");
    expect(refused.status).toBe(401);
    expect(refused.landed.pathname).toBe("/login");
    expect(refused.landed.searchParams.get("sso_error")).toBe("no_role");
    expect(await new UserStore(store().reader, store().writer).byEmailWithHash("eve@corp.example")).toBeNull();

    process.env.REVENANT_OIDC_DEFAULT_ROLE = "viewer";
    resetConfig();
    try {
      expect((await signIn("eve")).me.role).toBe("viewer");
    } finally {
      delete process.env.REVENANT_OIDC_DEFAULT_ROLE;
      resetConfig();
    }
  });

  it("refuses a callback whose state does not match the browser's flow (login CSRF)", async () => {
    // The attacker's browser completes a flow, but its callback is replayed in a victim's browser.
    const attacker = new Browser();
    const { url } = await attacker.run(`${appOrigin}/api/v1/auth/oidc/login`, "ada", isCallback);
    const victim = new Browser();
    await victim.request(`${appOrigin}/api/v1/auth/oidc/login`); // the victim has a flow of its own
    const res = await victim.request(url);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get("location")!, appOrigin).searchParams.get("sso_error")).toBe("code_exchange_failed");
    expect((await victim.request(`${appOrigin}/api/v1/auth/me`)).status).toBe(401);
    const failures = await queryRows<{ details: string }>(store().reader, "test", "SELECT details FROM audit_log WHERE action = 'auth.login_failed' AND target = 'oidc'");
    expect(failures.map((f) => JSON.parse(f.details).reason)).toEqual(expect.arrayContaining(["no_role", "code_exchange_failed"]));
  });

  it("keeps password sign-in, and switches it off in SSO-only mode", async () => {
    resetRateLimits();
    await new UserStore(store().reader, store().writer).create({ email: "local@corp.example", role: "viewer", password: "local password" });
    const post = () =>
      fetch(`${appOrigin}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "local@corp.example", password: "local password" }) });
    expect((await post()).status).toBe(200);
    // An SSO-created user has no password to sign in with.
    const sso = await fetch(`${appOrigin}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "ada@corp.example", password: "" + "anything-at-all" }) });
    expect(sso.status).toBe(401);
    process.env.REVENANT_SSO_ONLY = "1";
    resetConfig();
    try {
      const off = await post();
      expect(off.status).toBe(403);
      expect((await off.json()).error.code).toBe("sso_only");
      expect((await signIn("ada")).me.role).toBe("analyst");
    } finally {
      delete process.env.REVENANT_SSO_ONLY;
      resetConfig();
    }
  });
});
