/**
 * The sign-in edge on the real production server (`next start`, see playwright.config.ts):
 * what only a real server can show. The server stamps the connecting peer, so a forged
 * X-Forwarded-For does not become the audited address; the public health answer is
 * short; a crafted `?next=` cannot send a person off-site after signing in; and ids in the
 * path are decoded once.
 */
import { expect, request as playwrightRequest, test, type Browser, type BrowserContext } from "@playwright/test";

const ADMIN_EMAIL = process.env.E2E_ADMIN_EMAIL!;
const ADMIN_PASSWORD = process.env.E2E_ADMIN_PASSWORD!;

async function anonymousContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ extraHTTPHeaders: {}, baseURL: test.info().project.use.baseURL, viewport: { width: 1440, height: 900 } });
}

test("a forged X-Forwarded-For is not the address that gets limited and audited", async ({ request }) => {
  const anon = await playwrightRequest.newContext({ baseURL: test.info().project.use.baseURL, extraHTTPHeaders: {} });
  try {
    const email = `forged-${Date.now()}@example.com`;
    const res = await anon.post("/api/v1/auth/login", { headers: { "x-forwarded-for": "203.0.113.99" }, data: { email, password: "not-a-password" } });
    expect(res.status()).toBe(401);
    // The suite's admin key reads the audit log.
    const audit = await (await request.get("/api/v1/audit?action=auth.login_failed&limit=100")).json();
    const entry = audit.items.find((e: { target: string }) => e.target === email);
    expect(entry.ip).toBe("127.0.0.1");

    // Health, anonymously: status and lag only.
    const health = await (await anon.get("/api/v1/health")).json();
    expect(Object.keys(health).sort()).toEqual(["lag", "status"]);
  } finally {
    await anon.dispose();
  }
});

test("ids in the path reach the handlers decoded once: a percent sign is part of the id", async ({ request }) => {
  // The server decodes "%25" to "%": decoded again, the id would be malformed (a 500) or another
  // agent's ("a%41" read as "aA"). Unknown ids answer 404 with the API's error body.
  for (const path of ["/api/v1/agents/no-such-agent-100%25", "/api/v1/agents/no-such-a%2541", "/api/v1/credentials/no-such-100%25/status"]) {
    const res = await request.get(path);
    expect(res.status(), path).not.toBe(500);
    if (res.status() !== 200) expect((await res.json()).error, path).toBeTruthy();
  }
  const missing = await request.get("/api/v1/agents/no-such-agent-100%25");
  expect(missing.status()).toBe(404);
});

test("a crafted ?next= keeps the browser on this origin after signing in", async ({ browser, baseURL }) => {
  const ctx = await anonymousContext(browser);
  try {
    const page = await ctx.newPage();
    await page.goto("/login?next=" + encodeURIComponent("/.//evil.example/steal"));
    await page.getByLabel("Email").fill(ADMIN_EMAIL);
    await page.getByLabel("Password").fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/login"));
    expect(new URL(page.url()).origin).toBe(new URL(baseURL!).origin);
    expect(new URL(page.url()).pathname).toBe("/evil.example/steal");
  } finally {
    await ctx.close();
  }
});
