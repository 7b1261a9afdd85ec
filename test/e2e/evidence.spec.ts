/**
 * Evidence integrity through the real production server (see playwright.config.ts): an
 * event posted to the API, then a second copy with other content under the same id. The
 * event drawer shows the first copy with how it arrived (the API, the posting key, the
 * Kafka coordinates) and the later copy kept aside as a conflict.
 */
import { expect, test } from "@playwright/test";

const RUN = process.env.E2E_RUN_ID ?? "local";

test("the event drawer shows the first copy's provenance and the conflicting copy kept aside", async ({ page, request }) => {
  const agent = `e2e-evidence-agent-${RUN}`;
  const id = `e2e-evidence-${RUN}`;
  const time = new Date(Date.now() - 120_000).toISOString();
  const first = { event_id: id, type: "action", time, agent_id: agent, layer: "tool", action: "execute_tool", resource: "ledger", decision: "allow" };
  expect((await request.post("/api/v1/events", { data: first })).status()).toBe(202);
  await expect.poll(async () => (await request.get(`/api/v1/events/${id}`)).status(), { timeout: 60_000 }).toBe(200);
  expect((await request.post("/api/v1/events", { data: { ...first, resource: "rewritten", decision: "deny" } })).status()).toBe(202);
  await expect
    .poll(async () => ((await (await request.get(`/api/v1/events/${id}`)).json()) as { conflicts: unknown[] }).conflicts.length, { timeout: 60_000 })
    .toBe(1);

  await page.goto(`/agents/${encodeURIComponent(agent)}?event=${encodeURIComponent(id)}`);
  const drawer = page.getByTestId("event-drawer");
  await expect(drawer).toContainText("ledger");
  const provenance = drawer.getByTestId("event-provenance");
  await expect(provenance).toContainText("POST /api/v1/events");
  await expect(provenance.getByTestId("event-submitted-by")).toContainText("api_key:");
  await expect(provenance.getByTestId("event-kafka-coordinates")).toContainText(/\S+ \/ \d+ \/ \d+/);
  const conflicts = provenance.getByTestId("event-conflicts");
  await expect(conflicts).toContainText("Conflicting copies (1)");
  await expect(conflicts).toContainText("rewritten");
});
