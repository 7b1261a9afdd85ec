/**
 * Enforcement points end to end on the real stack (see playwright.config.ts): an SSF poll
 * receiver registered through the API, a revocation seeded through the API, the receiver
 * polling and acknowledging its SETs over HTTP, and the alert page showing that the receiver
 * was told and acknowledged. Also: the transmitter's metadata is public, and an enforcer key
 * may look credentials up but open no page.
 */
import { expect, test } from "@playwright/test";
import { seed } from "./scenario";

const run = process.env.E2E_RUN_ID ?? "local";
const agent = `enf-agent-${run}`;
const token = `enf-tok-${run}`;
const minute = (m: number) => new Date(Date.now() - (30 - m) * 60_000).toISOString();

test("an SSF poll receiver is told of a revocation, acknowledges, and the alert page shows it", async ({ page, request, playwright }) => {
  const meta = await playwright.request.newContext({ baseURL: test.info().project.use.baseURL, extraHTTPHeaders: {} });
  const conf = await (await meta.get("/.well-known/ssf-configuration")).json();
  expect(conf.delivery_methods_supported).toContain("urn:ietf:rfc:8936");
  expect((await (await meta.get("/ssf/jwks")).json()).keys.length).toBeGreaterThan(0);

  const created = await request.post("/api/v1/transmitter/streams", { data: { aud: "e2e-gateway", delivery: { method: "urn:ietf:rfc:8936" } } });
  expect(created.status(), await created.text()).toBe(201);
  const stream = await created.json();

  await seed(request, [
    { event_id: `enf-iss-${run}`, type: "credential_issued", time: minute(0), agent_id: agent, credential: { id: token } },
    { event_id: `enf-rev-${run}`, type: "revocation", time: minute(1), revocation: { scope: "agent", subject: agent, reason: "e2e" } },
    { event_id: `enf-act-${run}`, type: "action", time: minute(2), agent_id: agent, credential_id: token, layer: "tool", action: "execute_tool", decision: "allow" },
  ]);

  // The receiver polls with its stream token until its SET is there, then acknowledges it.
  const poll = (data: object) => meta.post(`/ssf/poll/${stream.stream_id}`, { data, headers: { authorization: `Bearer ${stream.poll_token}` } });
  let sets: Record<string, string> = {};
  await expect.poll(async () => Object.keys((sets = (await (await poll({ maxEvents: 10 })).json()).sets)).length, { timeout: 60_000 }).toBeGreaterThan(0);
  expect((await (await poll({ ack: Object.keys(sets), maxEvents: 10, returnImmediately: true })).json()).sets).toEqual({});

  // An enforcer key answers the lookup over HTTP, and opens no page.
  const key = await (await request.post("/api/v1/keys", { data: { name: `gateway ${run}`, role: "enforcer" } })).json();
  const gateway = await playwright.request.newContext({ baseURL: test.info().project.use.baseURL, extraHTTPHeaders: { authorization: `Bearer ${key.key}` } });
  await expect.poll(async () => (await (await gateway.get(`/api/v1/credentials/${token}/status`)).json()).covered, { timeout: 30_000 }).toBe(true);
  expect((await gateway.get("/alerts")).status()).toBe(403);
  expect((await gateway.get("/api/v1/alerts")).status()).toBe(403);

  let alertId = "";
  await expect.poll(async () => (alertId = (await (await request.get(`/api/v1/alerts?agent_id=${encodeURIComponent(agent)}`)).json()).items?.[0]?.id ?? ""), { timeout: 60_000 }).not.toBe("");
  await page.goto(`/alerts/${alertId}`);
  const card = page.getByTestId("notified");
  await expect(card).toContainText("e2e-gateway");
  await expect(card).toContainText("poll: 1/1 acknowledged");
  await expect(card).toContainText("acknowledged");
  await page.screenshot({ path: "test-results/screenshots/alert-enforcement-points.png", fullPage: true });
});
