/**
 * Sign-in and the webhook settings, end to end on the real stack (see playwright.config.ts).
 * Both tests use a person's browser (no bearer key): the first signs in through the form,
 * the second through /api/v1/auth/login, so every write goes through the CSRF check.
 * The webhook receiver is a node:http server on 127.0.0.1 inside the test (the app's
 * REVENANT_WEBHOOK_ALLOWLIST permits 127.0.0.1 for this run).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { Webhook } from "standardwebhooks";

const ADMIN_EMAIL = process.env.E2E_ADMIN_EMAIL!;
const ADMIN_PASSWORD = process.env.E2E_ADMIN_PASSWORD!;

/** A browser context without the suite's bearer key: only a session cookie can authenticate it. */
async function anonymousContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ extraHTTPHeaders: {}, baseURL: test.info().project.use.baseURL, viewport: { width: 1440, height: 900 } });
}

async function shot(page: Page, name: string) {
  await expect(page.getByTestId("live-indicator")).toHaveClass(/live-ok/);
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}

test("signing in through the form lands on the page asked for; signing out ends the session", async ({ browser }) => {
  const ctx = await anonymousContext(browser);
  try {
    const page = await ctx.newPage();

    // Anonymous: a page redirects to the sign-in form, remembering where it was going.
    await page.goto("/alerts");
    await expect(page).toHaveURL(/\/login\?next=%2Falerts$/);
    await expect(page.getByRole("heading", { name: "Sign in to Revenant" })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" })).toHaveCount(0);

    // A wrong password: an error, still on the form, no session.
    await page.getByLabel("Email").fill(ADMIN_EMAIL);
    await page.getByLabel("Password").fill(`${ADMIN_PASSWORD}-wrong`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "wrong email or password" })).toBeVisible();
    await expect(page).toHaveURL(/\/login\?next=%2Falerts$/);
    await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
    expect((await ctx.cookies()).map((c) => c.name)).not.toContain("revenant_session");

    // The right password: back on /alerts, the `next` target, with the app's navigation.
    await page.getByLabel("Password").fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/alerts$/);
    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav).toBeVisible();
    await expect(nav.getByRole("link", { name: "Alerts" })).toHaveAttribute("aria-current", "page");
    const cookies = await ctx.cookies();
    const session = cookies.find((c) => c.name === "revenant_session");
    expect(session, "a session cookie after signing in").toBeTruthy();
    expect(session!.httpOnly).toBe(true);

    // Sign out from the top bar, right where the user is.
    await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole("heading", { name: "Sign in to Revenant" })).toBeVisible();

    // Signed out: pages redirect to the form again...
    await page.goto("/alerts");
    await expect(page).toHaveURL(/\/login\?next=%2Falerts$/);
    // ...even with the old session cookie put back: the session ended on the server.
    await ctx.addCookies(cookies);
    await page.goto("/alerts");
    await expect(page).toHaveURL(/\/login\?next=%2Falerts$/);
    await expect(page.getByRole("heading", { name: "Sign in to Revenant" })).toBeVisible();
  } finally {
    await ctx.close();
  }
});

interface Received {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A webhook receiver on 127.0.0.1, a random port; answers 204 to everything. */
async function receiver(): Promise<{ port: number; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
      received.push({ method: req.method ?? "", url: req.url ?? "", headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    received,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

test("a webhook endpoint is created, its secret shown once, and a signed test delivery is received and listed", async ({ browser }) => {
  const hook = await receiver();
  const ctx = await anonymousContext(browser);
  try {
    const res = await ctx.request.post("/api/v1/auth/login", { data: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    expect(res.status(), await res.text()).toBe(200);
    const page = await ctx.newPage();
    const url = `http://127.0.0.1:${hook.port}/hook`;

    await page.goto("/settings/webhooks");
    await expect(page.getByRole("heading", { name: "Webhooks", level: 1 })).toBeVisible();
    const form = page.getByRole("form", { name: "Add a webhook endpoint" });
    await form.getByLabel("URL", { exact: true }).fill(url);
    await form.getByLabel("Description").fill("e2e receiver");
    await form.getByRole("button", { name: "Add endpoint" }).click();

    // The signing secret, shown once.
    const secretBox = page.getByTestId("secret-once");
    await expect(secretBox).toHaveText(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    const secret = (await secretBox.textContent())!.trim();
    await expect(page.getByText("it is shown only this once")).toBeVisible();
    const row = page.getByRole("row").filter({ has: page.locator("code", { hasText: url }) });
    await expect(row).toHaveCount(1);
    await expect(row).toContainText("enabled");
    await page.getByRole("button", { name: "Done" }).click();
    await expect(secretBox).toHaveCount(0);
    // Not shown again, nor anywhere on a fresh load of the page.
    await page.reload();
    await expect(row).toContainText("e2e receiver");
    await expect(page.getByTestId("secret-once")).toHaveCount(0);
    expect(await page.content()).not.toContain(secret);

    // Send test: the outcome is shown on the row.
    await row.getByRole("button", { name: "Send test" }).click();
    await expect(row.getByRole("status")).toHaveText(/^delivered \(HTTP 204, \d+ ms\)$/);

    // The receiver got it, signed with the secret (Standard Webhooks).
    await expect.poll(() => hook.received.filter((r) => r.url === "/hook").length).toBeGreaterThan(0);
    const got = hook.received.find((r) => r.url === "/hook" && JSON.parse(r.body).type === "webhook.test");
    expect(got, JSON.stringify(hook.received)).toBeTruthy();
    expect(got!.method).toBe("POST");
    const wh = new Webhook(secret);
    const payload = wh.verify(got!.body, got!.headers) as { type: string; alert: { id: string } };
    expect(payload.type).toBe("webhook.test");
    // A signature check that means something: a changed body, or another secret, fails.
    expect(() => wh.verify(got!.body.replace("webhook.test", "webhook.tes7"), got!.headers)).toThrow();
    expect(() => new Webhook(`whsec_${Buffer.alloc(24, 7).toString("base64")}`).verify(got!.body, got!.headers)).toThrow();
    const webhookId = got!.headers["webhook-id"];
    expect(webhookId).toBeTruthy();

    // The endpoint's deliveries list shows the attempt with its HTTP status.
    await row.getByRole("button", { name: "Deliveries" }).click();
    await expect(row.getByRole("button", { name: "Deliveries" })).toHaveAttribute("aria-expanded", "true");
    const deliveries = page.getByRole("table", { name: "Deliveries" });
    const delivery = deliveries.getByRole("row").filter({ hasText: webhookId });
    await expect(delivery).toHaveCount(1);
    await expect(delivery).toContainText("webhook.test");
    await expect(delivery).toContainText("succeeded");
    await expect(delivery.getByRole("listitem")).toHaveCount(1);
    await expect(delivery.getByRole("listitem")).toContainText("#1");
    await expect(delivery.getByRole("listitem")).toContainText("HTTP 204");
    await shot(page, "settings-webhooks");
  } finally {
    await ctx.close();
    await hook.close();
  }
});

test("the audit log's filters live in the URL: a filtered view is a link, and what is typed reaches it", async ({ browser, request }) => {
  // A failed sign-in of its own, so that the filter finds something whatever ran before.
  const stranger = `audit-filter-${Date.now()}@e2e.test`;
  expect((await request.post("/api/v1/auth/login", { data: { email: stranger, password: "not-the-password" } })).status()).toBe(401);
  const ctx = await anonymousContext(browser);
  try {
    expect((await ctx.request.post("/api/v1/auth/login", { data: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } })).status()).toBe(200);
    const page = await ctx.newPage();
    await page.goto("/settings/audit?action=auth.login_failed");
    const action = page.getByRole("searchbox", { name: "Action" });
    await expect(action).toHaveValue("auth.login_failed");
    const log = page.getByRole("table", { name: "Audit log" });
    await expect(log).toContainText(stranger);
    const actions = await log.locator(".dtable-body [role=row] [role=cell]:nth-child(3)").allTextContents();
    expect(new Set(actions)).toEqual(new Set(["auth.login_failed"]));

    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect(action).toHaveValue("");
    await expect(page).toHaveURL(/\/settings\/audit$/);
    await page.getByRole("searchbox", { name: "Actor" }).fill(ADMIN_EMAIL);
    await expect(page).toHaveURL(new RegExp(`[?&]actor=${encodeURIComponent(ADMIN_EMAIL).replace(/\./g, "\\.")}`));
    await expect(log).toContainText("auth.login");
    await expect(log).not.toContainText(stranger);
  } finally {
    await ctx.close();
  }
});
