/**
 * The SOC dashboard end to end, on the real stack (see playwright.config.ts): a partial
 * containment with a delegated sub-agent (test/e2e/scenario.ts), seeded through Kafka.
 * Screenshots of every page land in test-results/screenshots/.
 */
import { readFileSync } from "node:fs";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { scenario, seed } from "./scenario";

test.describe.configure({ mode: "serial" });

const s = scenario(process.env.E2E_RUN_ID ?? "local");
const { ids } = s;
const enc = encodeURIComponent;

async function shot(page: Page, name: string) {
  await expect(page.getByTestId("live-indicator")).toHaveClass(/live-ok/);
  await page.waitForTimeout(300); // let charts finish their first layout
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}

/**
 * A person's browser: no bearer key, signed in through /api/v1/auth/login, so requests
 * carry the session cookie and writes must send the CSRF header (the UI's fetch wrapper),
 * and download links are authenticated like any navigation.
 */
async function signedInPage(browser: Browser): Promise<Page> {
  const ctx = await browser.newContext({ extraHTTPHeaders: {}, baseURL: test.info().project.use.baseURL, viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const res = await ctx.request.post("/api/v1/auth/login", { data: { email: process.env.E2E_ADMIN_EMAIL, password: process.env.E2E_ADMIN_PASSWORD } });
  expect(res.status(), await res.text()).toBe(200);
  // Really a person's session, not the bearer key: the CSRF path is exercised.
  expect((await (await ctx.request.get("/api/v1/auth/me")).json()).kind).toBe("user");
  return ctx.newPage();
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(cell), (cell = "");
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(cell), rows.push(row), (row = []), (cell = "");
    } else cell += ch;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows.filter((r) => r.length > 1 || r[0]);
}

test("a new alert appears live on an open page", async ({ page, request }) => {
  await seed(request, s.before);
  // Wait until the pre-revocation world is ingested (the revocation and the blocked attempt).
  await expect
    .poll(async () => (await (await request.get(`/api/v1/post-revocation-actions?pipeline_id=${enc(ids.pipeline)}`)).json()).items?.length ?? 0, { timeout: 60_000 })
    .toBe(1);

  await page.goto(`/alerts?pipeline_id=${enc(ids.pipeline)}`);
  await expect(page.getByText("No alerts match")).toBeVisible();
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

  const seededAt = Date.now();
  await seed(request, s.after);
  const table = page.getByTestId("alerts-table");
  await expect(table.getByRole("row").filter({ hasText: "Post-revocation activity" })).toBeVisible({ timeout: 30_000 });
  console.log(`alert visible ${Date.now() - seededAt} ms after the offending action was posted`);
  await expect(table.getByRole("row").filter({ hasText: "Delegated authority leak" })).toBeVisible();
  await expect(table.getByRole("row").filter({ hasText: "Partial containment" })).toBeVisible();
  // It arrived by polling, not by a reload.
  expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  await expect(page.getByTestId("live-indicator")).toContainText("live");
  await shot(page, "alerts");
});

test("clicking through reaches the agent's timeline with the violations marked", async ({ page }) => {
  await page.goto(`/alerts?pipeline_id=${enc(ids.pipeline)}`);
  await page.getByTestId("alerts-table").getByRole("row").filter({ hasText: "Post-revocation activity" }).getByRole("link", { name: "Post-revocation activity" }).click();
  await expect(page).toHaveURL(/\/alerts\/al_/);
  await expect(page.getByRole("heading", { name: "Post-revocation activity" })).toBeVisible();
  const evidence = page.getByTestId("evidence-table");
  await expect(evidence.locator(".row-violation")).toHaveCount(1);
  await expect(evidence.locator(".row-blocked")).toHaveCount(1);
  await shot(page, "alert");

  await page.getByTestId("timeline-link").click();
  await expect(page).toHaveURL(new RegExp(`/agents/${enc(ids.a).replace(/%/g, "%")}\\?`));
  await expect(page.getByTestId("agent-title")).toHaveText(ids.a);
  const timeline = page.getByTestId("agent-timeline");
  await expect(timeline.locator("[data-mark=violation]")).toHaveCount(1);
  await expect(timeline.locator("[data-mark=blocked]")).toHaveCount(1);
  await expect(timeline.getByText("revoked agent")).toBeVisible();
  const events = page.getByTestId("events-table");
  await expect(events.locator(".row-violation")).toContainText("sql_query");
  await expect(events.locator(".row-blocked")).toContainText("deny");

  // Click the violation mark for the full event.
  await timeline.locator("[data-mark=violation]").first().click();
  const drawer = page.getByTestId("event-drawer");
  await expect(drawer).toContainText(`a-tool-leak-${process.env.E2E_RUN_ID ?? "local"}`);
  await expect(drawer).toContainText(ids.revocation);
  await page.keyboard.press("Escape");
  await expect(drawer).toBeHidden();
  await shot(page, "agent");

  // The drawer's "after revocation" row leads to the revocation's page.
  await timeline.locator("[data-mark=violation]").first().click();
  await drawer.getByRole("link", { name: ids.revocation }).click();
  await expect(page).toHaveURL(new RegExp(`/revocations/${enc(ids.revocation)}$`));
  await expect(page.getByTestId("revocation-facts")).toContainText(ids.revocation);
});

test("acknowledging an alert changes its status everywhere", async ({ browser, request }) => {
  const page = await signedInPage(browser);
  const list = await (await request.get(`/api/v1/alerts?agent_id=${enc(ids.a)}&rule=post_revocation_activity`)).json();
  const alert = list.items[0];
  expect(alert.status).toBe("open");

  await page.goto(`/alerts/${alert.id}`);
  await expect(page.getByTestId("alert-status")).toContainText("open");
  await page.getByTestId("alert-comment").fill("Gateway enforced; tool server still trusts the cached token. Paged the MCP team.");
  await page.getByRole("button", { name: "Acknowledge" }).click();
  await expect(page.getByTestId("alert-status")).toContainText("acknowledged");
  await expect(page.getByTestId("alert-history")).toContainText("Paged the MCP team.");

  await page.goto(`/alerts?pipeline_id=${enc(ids.pipeline)}`);
  const row = page.getByTestId("alerts-table").getByRole("row").filter({ hasText: "Post-revocation activity" });
  await expect(row).toContainText("acknowledged");
  await page.getByLabel("Status").selectOption("open");
  await expect(page).toHaveURL(/status=open/);
  await expect(page.getByTestId("alerts-table").getByRole("row").filter({ hasText: "Post-revocation activity" })).toHaveCount(0);
  await page.getByLabel("Status").selectOption("acknowledged");
  await expect(page.getByTestId("alerts-table").getByRole("row").filter({ hasText: "Post-revocation activity" })).toContainText("acknowledged");

  await page.goto("/");
  const newest = page.getByTestId("newest-alerts").getByRole("row").filter({ hasText: "Post-revocation activity" });
  await expect(newest.first()).toContainText("acknowledged");
  await shot(page, "overview");
});

test("the pipeline's containment matrix shows the leaking layer", async ({ page }) => {
  await page.goto("/pipelines");
  await expect(page.getByTestId("pipelines-table")).toContainText(ids.pipeline);
  await shot(page, "pipelines");

  await page.getByTestId("pipelines-table").getByRole("link", { name: ids.pipeline }).click();
  await expect(page.getByTestId("pipeline-title")).toHaveText(ids.pipeline);
  const matrix = page.getByTestId("containment-matrix");
  await expect(matrix.locator(`td[data-agent="${ids.a}"][data-layer="tool"]`)).toHaveAttribute("data-status", "leaking");
  await expect(matrix.locator(`td[data-agent="${ids.a}"][data-layer="gateway"]`)).toHaveAttribute("data-status", "enforcing");
  await expect(matrix.locator(`td[data-agent="${ids.b}"][data-layer="tool"]`)).toHaveAttribute("data-status", "leaking");
  await expect(matrix.locator(`td[data-agent="${ids.b}"][data-layer="gateway"]`)).toHaveAttribute("data-status", "silent");
  // The delegation tree: cB hangs under cA.
  const tree = page.getByTestId("delegation-tree");
  await expect(tree.locator(`li:has(> .tree-node[data-credential="${ids.cA}"]) .tree-node[data-credential="${ids.cB}"]`)).toBeVisible();
  await expect(page.getByTestId("pipeline-timeline").locator("[data-mark=violation]")).toHaveCount(2);
  await expect(page.getByTestId("pipeline-timeline-note")).toHaveCount(0);
  await shot(page, "pipeline");

  // From the keyboard (the pipeline page has no event table): the chart is one tab stop, the
  // arrows move from mark to mark in time order, Enter opens the event, Esc gives the focus back.
  const timeline = page.getByTestId("pipeline-timeline");
  const chart = timeline.locator(".timeline-chart");
  const cursorLine = timeline.getByTestId("timeline-cursor");
  await chart.focus();
  await page.keyboard.press("End");
  await expect(cursorLine).toContainText(`▲ violation`);
  await expect(cursorLine).toContainText(`${ids.b} · tool · execute_tool · web_search`);
  await page.keyboard.press("ArrowLeft");
  await expect(cursorLine).toContainText(`${ids.a} · tool · execute_tool · sql_query`);
  await expect(timeline.locator("[data-mark-cursor]")).toHaveCount(1);
  // Every poll from now on brings the agent's events back changed (as a live page's do).
  let polls = 0;
  await page.route(`**/api/v1/agents/${enc(ids.a)}/timeline*`, async (route) => {
    const response = await route.fetch();
    const body = (await response.json()) as { items?: { source?: string }[] };
    polls++;
    for (const e of body.items ?? []) e.source = `e2e-poll-${polls}`;
    await route.fulfill({ response, json: body });
  });
  await page.keyboard.press("Enter");
  const drawer = page.getByTestId("event-drawer");
  const close = drawer.getByRole("button", { name: "Close (Esc)" });
  await expect(drawer).toContainText("sql_query");
  await expect(close).toBeFocused();
  // The analyst moves on inside the drawer; the polls that follow leave the focus there.
  await page.keyboard.press("Tab");
  await expect(close).not.toBeFocused();
  const movedTo = await page.evaluate(() => document.activeElement?.outerHTML);
  const seen = polls;
  await expect.poll(() => polls, { timeout: 15_000 }).toBeGreaterThan(seen + 1);
  await expect.poll(async () => Number((await drawer.textContent())?.match(/e2e-poll-(\d+)/)?.[1] ?? 0), { timeout: 15_000 }).toBeGreaterThan(seen);
  expect(await page.evaluate(() => document.activeElement?.outerHTML)).toBe(movedTo);
  await page.unroute(`**/api/v1/agents/${enc(ids.a)}/timeline*`);
  await page.keyboard.press("Escape");
  await expect(drawer).toHaveCount(0);
  await expect(chart).toBeFocused();

  // One agent's timeline failing: its lane is not silently missing, the page says so.
  await page.route(`**/api/v1/agents/${enc(ids.b)}/timeline*`, (route) => route.fulfill({ status: 503, contentType: "application/json", body: '{"error":{"code":"unavailable","message":"test"}}' }));
  await page.reload();
  await expect(page.getByTestId("pipeline-timeline-note")).toContainText("1 of 2 agents' events could not be loaded", { timeout: 20_000 });
  await page.unroute(`**/api/v1/agents/${enc(ids.b)}/timeline*`);
});

test("an export downloads the right rows", async ({ browser }) => {
  const page = await signedInPage(browser);
  await page.goto(`/investigate?pipeline_id=${enc(ids.pipeline)}`);
  await expect(page.getByTestId("investigate-count")).toHaveText(/^3 rows/);
  await shot(page, "investigate");

  const [csvDownload] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
  const csv = parseCsv(readFileSync((await csvDownload.path())!, "utf8"));
  const [header, ...rows] = csv;
  const col = (name: string) => header.indexOf(name);
  for (const name of ["event_id", "revocation_id", "violation", "via", "agent_id", "layer", "decision"]) expect(header).toContain(name);
  const run = process.env.E2E_RUN_ID ?? "local";
  const byEvent = Object.fromEntries(rows.map((r) => [r[col("event_id")], r]));
  expect(Object.keys(byEvent).sort()).toEqual([`a-gw-denied-${run}`, `a-tool-leak-${run}`, `b-tool-leak-${run}`].sort());
  expect(rows.every((r) => r[col("revocation_id")] === ids.revocation)).toBe(true);
  expect(byEvent[`a-gw-denied-${run}`][col("violation")]).toBe("false");
  expect(byEvent[`a-tool-leak-${run}`][col("violation")]).toBe("true");
  expect(byEvent[`b-tool-leak-${run}`][col("violation")]).toBe("true");
  expect(byEvent[`b-tool-leak-${run}`][col("via")]).toBe("cascade");

  const [ndjsonDownload] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-ndjson").click()]);
  const lines = readFileSync((await ndjsonDownload.path())!, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  expect(lines.map((l) => l.event_id).sort()).toEqual(Object.keys(byEvent).sort());

  // Each row's revocation id leads to the revocation's page.
  await page.getByTestId("investigate-table").getByRole("link", { name: ids.revocation }).first().click();
  await expect(page).toHaveURL(new RegExp(`/revocations/${enc(ids.revocation)}$`));
  await expect(page.getByTestId("revocation-facts")).toContainText(ids.revocation);
});

test("the agents list finds the sub-agent, and the agent page shows its lineage", async ({ page }) => {
  await page.goto(`/agents?q=${enc(run())}`);
  const table = page.getByTestId("agents-table");
  await expect(table.getByRole("row").filter({ hasText: ids.b })).toBeVisible();
  await expect(table.getByRole("row").filter({ hasText: ids.a })).toContainText("revoked");
  await shot(page, "agents");

  await page.goto(`/agents/${enc(ids.b)}`);
  await expect(page.getByTestId("credentials-table")).toContainText(ids.cA);
  await expect(page.getByTestId("agent-timeline").locator("[data-mark=violation]")).toHaveCount(1);
});

test("a viewer is offered only what the viewer role may do, and a refused read does not make the page stale", async ({ browser, request }) => {
  const email = `viewer-${Date.now()}@example.com`;
  const password = "viewer-password-1234";
  const created = await request.post("/api/v1/users", { data: { email, password, role: "viewer" } });
  expect(created.status(), await created.text()).toBe(201);
  const ctx = await browser.newContext({ extraHTTPHeaders: {}, baseURL: test.info().project.use.baseURL, viewport: { width: 1440, height: 900 } });
  try {
    expect((await ctx.request.post("/api/v1/auth/login", { data: { email, password } })).status()).toBe(200);
    const page = await ctx.newPage();

    // The revocation's provenance needs the analyst role: the page says so, and stays live.
    await page.goto(`/revocations/${ids.revocation}`);
    await expect(page.getByTestId("event-provenance")).toContainText("need the analyst role");
    await expect(page.getByTestId("signed-in-as")).toContainText(`${email} · viewer`);
    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav.getByRole("link", { name: "Alerts" })).toBeVisible();
    await expect(nav.getByRole("link", { name: "Settings" })).toHaveCount(0);
    await page.waitForTimeout(4_000); // two polls at least
    await expect(page.getByTestId("live-indicator")).toHaveClass(/live-ok/);

    // Triage needs the analyst role, exports the investigator role: not offered, and said why.
    const list = await (await request.get(`/api/v1/alerts?agent_id=${enc(ids.a)}&rule=post_revocation_activity`)).json();
    await page.goto(`/alerts/${list.items[0].id}`);
    await expect(page.getByTestId("triage-needs-role")).toBeVisible();
    await expect(page.getByRole("button", { name: "Resolve" })).toBeDisabled();
    await page.goto("/investigate");
    await expect(page.getByTestId("export-needs-role")).toBeVisible();
    await expect(page.getByTestId("export-csv")).toHaveCount(0);
  } finally {
    await ctx.close();
  }
});

test("a revocation opened from the list shows its subject, containment, origin, actions and alerts", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Revocations" }).click();
  await expect(page).toHaveURL(/\/revocations$/);
  await page.getByLabel("Subject").fill(ids.a);
  await expect(page).toHaveURL(/subject=/);
  const row = page.getByTestId("revocations-list").getByRole("row").filter({ hasText: ids.a });
  await expect(row).toHaveCount(1);
  await expect(row.locator(".badge")).toHaveAttribute("data-value", "partial");
  await shot(page, "revocations");

  await row.getByTestId("revocation-link").click();
  await expect(page).toHaveURL(new RegExp(`/revocations/${ids.revocation}$`));
  await expect(page.getByTestId("revocation-subject")).toHaveText(ids.a);
  await expect(page.getByTestId("revocation-facts")).toContainText("e2e: prompt injection suspected");
  const containment = page.getByTestId("revocation-containment");
  await expect(containment.locator(".card-head .badge")).toHaveAttribute("data-value", "partial");
  await expect(page.getByTestId("revocation-violations")).toHaveText("▲ 2");
  await expect(page.getByTestId("revocation-blocked")).toHaveText("■ 1");
  await expect(containment.locator('[data-layer="tool"]')).toHaveAttribute("data-status", "leaking");
  await expect(containment.locator('[data-layer="gateway"]')).toHaveAttribute("data-status", "enforcing");
  // The sub-agent is involved through delegation (cascade), not as the subject.
  await expect(containment.getByRole("link", { name: ids.b })).toBeVisible();
  // Not from a Shared Signals stream: the page says how the event arrived instead.
  const origin = page.getByTestId("revocation-origin");
  await expect(origin.getByTestId("revocation-native")).toBeVisible();
  await expect(origin.getByTestId("revocation-set")).toHaveCount(0);
  await expect(origin.getByTestId("event-provenance")).toContainText("POST /api/v1/events");
  await expect(origin.getByTestId("event-kafka-coordinates")).toContainText(`e2e.${run()}.events`);
  const actions = page.getByTestId("revocation-actions");
  await expect(actions.locator(".row-violation")).toHaveCount(2);
  await expect(actions.locator(".row-blocked")).toHaveCount(1);
  const alerts = page.getByTestId("revocation-alerts");
  await expect(alerts.getByRole("row").filter({ hasText: "Partial containment" })).toBeVisible();
  await shot(page, "revocation");

  // Its alerts link to their pages, and each alert's revocation section links back.
  await alerts.getByRole("link", { name: "Delegated authority leak" }).click();
  await expect(page).toHaveURL(/\/alerts\/al_/);
  await page.getByTestId("revocation-page-link").click();
  await expect(page).toHaveURL(new RegExp(`/revocations/${ids.revocation}$`));
  await expect(page.getByTestId("revocation-subject")).toHaveText(ids.a);

  // The pipeline's revocations table links here too.
  await page.goto(`/pipelines/${enc(ids.pipeline)}`);
  await page.getByTestId("revocations-table").getByTestId("revocation-link").click();
  await expect(page).toHaveURL(new RegExp(`/revocations/${ids.revocation}$`));
});

function run() {
  return process.env.E2E_RUN_ID ?? "local";
}
