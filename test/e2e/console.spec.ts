/**
 * Every page loads with a clean browser console: no error or warning logged, no request
 * answered 4xx/5xx (the favicon included, which every page asks for), on the real stack.
 */
import { expect, test } from "@playwright/test";

const PAGES = ["/", "/alerts", "/agents", "/pipelines", "/revocations", "/investigate", "/settings/webhooks", "/settings/keys", "/settings/ssf", "/settings/users", "/settings/audit"];

test("every page loads with a clean console and no failed request", async ({ browser, request }) => {
  // A revocation of its own, so its page has something to show: this spec may run before any other seeds data.
  const revocationId = "console-revocation";
  const seeded = await request.post("/api/v1/events", {
    data: { event_id: revocationId, type: "revocation", time: new Date(Date.now() - 60_000).toISOString(), revocation: { scope: "agent", subject: "console-agent" } },
  });
  expect(seeded.status(), await seeded.text()).toBe(202);
  await expect.poll(async () => (await request.get(`/api/v1/revocations/${revocationId}`)).status(), { timeout: 60_000 }).toBe(200);
  const ctx = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  const res = await ctx.request.post("/api/v1/auth/login", { data: { email: process.env.E2E_ADMIN_EMAIL, password: process.env.E2E_ADMIN_PASSWORD } });
  expect(res.status(), await res.text()).toBe(200);
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${page.url()} console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`${page.url()} page error: ${err.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${page.url()} ${r.request().method()} ${r.url()} → ${r.status()}`);
  });
  for (const path of [...PAGES, `/revocations/${revocationId}`]) {
    await page.goto(path);
    await page.waitForLoadState("networkidle");
  }
  const icon = await ctx.request.get("/favicon.ico");
  expect(icon.status()).toBe(200);
  expect(icon.headers()["content-type"]).toMatch(/image\//);
  expect(problems).toEqual([]);
  await ctx.close();
});
