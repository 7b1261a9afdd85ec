/**
 * The standard intakes through the real production server (see playwright.config.ts):
 * the OpenTelemetry SDK's OTLP/HTTP exporter posting to /v1/traces, the event drawer
 * showing the action's origin, and an SSF stream added on the settings page, then fed by a
 * test transmitter (node:http on 127.0.0.1) pushing a signed SET and answering a verification
 * request made from the settings page. The OTLP export also
 * carries an agent invocation and a model call, drawn as context on the agent's timeline.
 */
import { expect, test } from "@playwright/test";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { OtelSource } from "../helpers/otel";
import { TestTransmitter, TRANSMITTER_TOKEN } from "../helpers/ssf-transmitter";
import { revocationEventId } from "../../lib/ssf/map";

const KEY = process.env.E2E_API_KEY!;
const SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

test("an SDK's OTLP/HTTP export becomes an action whose drawer shows its OpenTelemetry origin", async ({ page, request, baseURL }) => {
  const src = new OtelSource({ "service.name": "e2e-agent", "gen_ai.agent.id": "e2e-otel-agent" });
  const t = Date.now() - 60_000;
  // The tool call inside an agent invocation and a model call: those two are context, not actions.
  const agent = src.agent("e2e-otel-agent", t - 20);
  const chat = src.step("chat e2e-model", t - 10, agent);
  src.tool({ tool: "web.fetch", callId: "e2e-otlp-1", time: t }, chat);
  chat.end(t + 10);
  agent.end(t + 20);
  const exporter = new OTLPTraceExporter({ url: `${baseURL}/v1/traces`, headers: { authorization: `Bearer ${KEY}` } });
  const spans = await src.take();
  const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
  expect(result.code, String(result.error)).toBe(ExportResultCode.SUCCESS);
  await exporter.shutdown();

  await expect
    .poll(async () => (await (await request.get("/api/v1/agents/e2e-otel-agent/timeline")).json()).items?.map((e: { event_id: string }) => e.event_id) ?? [], { timeout: 60_000 })
    .toContain("e2e-otlp-1");
  await page.goto("/agents/e2e-otel-agent?event=e2e-otlp-1");
  const origin = page.getByTestId("event-drawer").getByTestId("event-origin");
  await expect(origin).toContainText("Origin: OpenTelemetry");
  await expect(origin).toContainText("e2e-agent");
  await expect(origin).toContainText("execute_tool web.fetch");
  // The invoke_agent span and the model call sit in the timeline's context lane, not among the events.
  const timeline = page.getByTestId("agent-timeline");
  await expect(timeline.locator("[data-context-mark]")).toHaveCount(2);
  await expect(timeline).toContainText("OpenTelemetry context");
  await expect(timeline.locator("[data-mark]")).toHaveCount(1);
});

test("an SSF stream added on the settings page shows the SETs its transmitter pushes; the alert and the revocation's page name the SET", async ({ page, request, baseURL }) => {
  const tx = await new TestTransmitter().start();
  try {
    await page.goto("/settings/ssf");
    await page.getByLabel("Name").fill("e2e idp");
    await page.getByLabel("Transmitter issuer").fill(tx.issuer);
    await page.getByLabel("Audience").fill("https://revenant.e2e");
    await page.getByLabel("Transmitter's id for this stream").fill("e2e-tx-stream");
    await page.getByLabel("Transmitter API token").fill(TRANSMITTER_TOKEN);
    await page.getByRole("button", { name: "Add stream" }).click();
    const secret = await page.getByTestId("secret-once").textContent();
    const [, pushPath, token] = /^https?:\/\/[^/]+(\S+)\s+—\s+Authorization: Bearer (\S+)$/.exec(secret!.trim())!;
    await page.getByRole("button", { name: "Done" }).click();
    const row = page.getByRole("row", { name: /e2e idp/ });
    await expect(row).toContainText(tx.issuer);

    const revokedAt = Math.floor(Date.now() / 1000) - 30;
    const { jti, jwt } = await tx.sign(SESSION_REVOKED, { event_timestamp: revokedAt }, {
      aud: "https://revenant.e2e", subId: { format: "complex", session: { format: "opaque", id: "e2e-sess" } },
    });
    const res = await request.post(`${baseURL}${pushPath}`, { headers: { "content-type": "application/secevent+jwt", authorization: `Bearer ${token}` }, data: jwt });
    expect(res.status()).toBe(202);
    await page.reload();
    await expect(page.getByRole("row", { name: /e2e idp/ }).getByRole("cell").nth(3)).toHaveText("1");

    // Verify: the transmitter is asked for a verification event, pushes it, and the row says it came back.
    tx.addStream("e2e-tx-stream", {
      aud: "https://revenant.e2e",
      deliver: async (set) => {
        const pushed = await request.post(`${baseURL}${pushPath}`, { headers: { "content-type": "application/secevent+jwt", authorization: `Bearer ${token}` }, data: set.jwt });
        if (pushed.status() !== 202) throw new Error(`push answered ${pushed.status()}`);
      },
    });
    await page.getByRole("row", { name: /e2e idp/ }).getByRole("button", { name: "Verify" }).click();
    await expect(page.getByRole("row", { name: /e2e idp/ }).getByTestId("verification-answered")).toBeVisible({ timeout: 20_000 });
    expect(tx.verificationRequests).toEqual([{ stream_id: "e2e-tx-stream", state: expect.any(String) }]);

    // An action in the revoked session after the revocation: the alert page names the SET.
    const action = { event_id: "e2e-after-ssf", type: "action", time: (revokedAt + 10) * 1000, agent_id: "e2e-ssf-agent", session_id: "e2e-sess",
      layer: "tool", action: "execute_tool", resource: "crm.export", decision: "allow" };
    expect((await request.post("/api/v1/events", { data: action })).status()).toBe(202);
    const streamId = /\/ssf\/streams\/([^/]+)\/push$/.exec(pushPath)![1];
    const revocationId = revocationEventId(streamId, jti);
    let alertId = "";
    await expect.poll(async () => {
      const items = (await (await request.get(`/api/v1/alerts?revocation_id=${revocationId}`)).json()).items ?? [];
      alertId = items[0]?.id ?? "";
      return alertId;
    }, { timeout: 60_000 }).not.toBe("");
    await page.goto(`/alerts/${encodeURIComponent(alertId)}`);
    const source = page.getByTestId("revocation-source");
    await expect(source).toContainText("SSF stream e2e idp");
    await expect(source).toContainText(jti);
    // The SET itself is shown once, on the revocation's page.
    await expect(source.getByRole("link", { name: "(the SET as received)" })).toHaveAttribute("href", `/revocations/${revocationId}`);

    // The revocation's own page, opened from the list: its source is the SET, kept whole.
    await page.goto("/revocations?scope=session");
    const listed = page.getByTestId("revocations-list").getByRole("row").filter({ hasText: "e2e-sess" });
    await expect(listed).toHaveCount(1);
    await listed.getByTestId("revocation-link").click();
    await expect(page).toHaveURL(new RegExp(`/revocations/${revocationId}$`));
    await expect(page.getByTestId("revocation-subject")).toHaveText("e2e-sess");
    // One action got through and nothing blocked it.
    await expect(page.getByTestId("revocation-containment").locator(".card-head .badge")).toHaveAttribute("data-value", "uncontained");
    await expect(page.getByTestId("revocation-violations")).toHaveText("▲ 1");
    const set = page.getByTestId("revocation-origin").getByTestId("revocation-set");
    await expect(set.getByTestId("set-stream")).toContainText("e2e idp");
    await expect(set.getByTestId("set-stream")).toContainText(streamId);
    await expect(set.getByTestId("set-jti")).toHaveText(jti);
    await expect(set).toContainText("session-revoked");
    expect(JSON.parse((await set.getByTestId("set-claims").textContent())!)).toMatchObject({ jti, aud: "https://revenant.e2e" });
    // The raw JWT is collapsed until asked for, then shown exactly as pushed, and copies whole.
    const raw = set.getByTestId("set-raw");
    await expect(raw.locator("pre")).toBeHidden();
    await raw.locator("summary").click();
    await expect(raw.locator("pre")).toHaveText(jwt);
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    await raw.getByTestId("copy-jwt").click();
    await expect(raw.getByTestId("copy-jwt")).toHaveText("Copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(jwt);
  } finally {
    await tx.stop();
  }
});
