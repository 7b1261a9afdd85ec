/**
 * The public API (docs/API.md) over a scenario that went through the real pipeline:
 * shapes, filters, keyset pagination that stays stable while data arrives, streamed
 * exports, errors that name the parameter, alert status changes and re-opening, and
 * HTTP ingest.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { config } from "@/lib/config";
import { closeStore } from "@/lib/store/clickhouse";
import { startWorker, type Worker } from "@/ingest/worker";
import * as alertsRoute from "@/app/api/v1/alerts/route";
import * as alertRoute from "@/app/api/v1/alerts/[id]/route";
import * as pairsRoute from "@/app/api/v1/post-revocation-actions/route";
import * as revocationsRoute from "@/app/api/v1/revocations/route";
import * as revocationRoute from "@/app/api/v1/revocations/[event_id]/route";
import * as agentsRoute from "@/app/api/v1/agents/route";
import * as agentRoute from "@/app/api/v1/agents/[agent_id]/route";
import * as timelineRoute from "@/app/api/v1/agents/[agent_id]/timeline/route";
import * as pipelinesRoute from "@/app/api/v1/pipelines/route";
import * as pipelineRoute from "@/app/api/v1/pipelines/[pipeline_id]/route";
import * as eventsRoute from "@/app/api/v1/events/route";
import * as overviewRoute from "@/app/api/v1/overview/route";
import * as healthRoute from "@/app/api/v1/health/route";
import { buildScenario } from "../helpers/scenario";
import { actionEvent, configureTestStack, count, eventually, produceJson, testProducer, waitUntilConsumed } from "../helpers/stack";
import { call, json, TEST_API_KEY } from "../helpers/api";

const T0 = Date.UTC(2026, 9, 1, 12, 0, 0);
const at = (ms: number) => new Date(T0 + ms).toISOString();

describe("API v1", () => {
  let producer: Producer;
  let worker: Worker;
  const scenario = buildScenario(11, { actions: 300, prefix: "api" });
  // A hand-made incident on top: agent "api-orch" revoked; gateway blocks, tool leaks with a
  // cached token, and a sub-agent keeps going with a delegated credential.
  const incident = [
    { event_id: "inc-iss-1", type: "credential_issued", time: at(-5000), agent_id: "api-orch", pipeline_id: "api-pipe", session_id: "api-s1", credential: { id: "api-tok-orch" } },
    { event_id: "inc-iss-2", type: "credential_issued", time: at(-4000), agent_id: "api-sub", pipeline_id: "api-pipe", session_id: "api-s2", credential: { id: "api-tok-sub", parent_id: "api-tok-orch" } },
    { event_id: "inc-rev", type: "revocation", time: at(0), revocation: { scope: "agent", subject: "api-orch", reason: "prompt injection" } },
    { event_id: "inc-a1", type: "action", time: at(100), agent_id: "api-orch", pipeline_id: "api-pipe", credential_id: "api-tok-orch", layer: "gateway", action: "http.request", decision: "deny" },
    { event_id: "inc-a2", type: "action", time: at(200), agent_id: "api-orch", pipeline_id: "api-pipe", credential_id: "api-tok-orch", layer: "tool", action: "execute_tool", decision: "allow" },
    { event_id: "inc-a3", type: "action", time: at(300), agent_id: "api-sub", pipeline_id: "api-pipe", credential_id: "api-tok-sub", layer: "secret_store", action: "secret.read", decision: "allow" },
  ];

  beforeAll(async () => {
    configureTestStack({ REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY, INGEST_FLUSH_MS: "50" });
    producer = await testProducer();
    worker = await startWorker();
    await produceJson(producer, config().KAFKA_TOPIC, [...scenario, ...incident]);
    await waitUntilConsumed(scenario.length + incident.length);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await producer?.disconnect();
    await closeStore();
  });

  it("answers 401 without a key, and serves health without one", async () => {
    const res = await call(alertsRoute.GET, "/api/v1/alerts", { auth: null });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ error: { code: "unauthenticated", message: expect.any(String) } });
    const wrong = await call(alertsRoute.GET, "/api/v1/alerts", { auth: "not-the-key" });
    expect(wrong.status).toBe(401);
    const health = await call(healthRoute.GET, "/api/v1/health", { auth: null });
    expect(health.status).toBe(200);
    // Anonymous callers learn only up/down and lag; the details need a key.
    expect(await json(health)).toEqual({ status: "ok", lag: expect.any(Number) });
    const details = await call(healthRoute.GET, "/api/v1/health");
    expect(await json(details)).toMatchObject({ status: "ok", kafka: { connected: true }, clickhouse: { ok: true, mode: "embedded" }, lag: expect.any(Number) });
  });

  it("raises the three alerts of a partial containment with a delegated sub-agent, in the documented shape", async () => {
    const res = await call(alertsRoute.GET, "/api/v1/alerts?revocation_id=inc-rev");
    const { items, next_cursor } = await json(res);
    expect(next_cursor).toBeNull();
    const byRule = Object.fromEntries(items.map((a: any) => [a.rule, a]));
    expect(byRule.post_revocation_activity).toMatchObject({
      agent_id: "api-orch", pipeline_id: "api-pipe", severity: "high", status: "open", violation_count: 1,
      layers_leaking: ["tool"], layers_enforcing: ["gateway"], sample_event_ids: ["inc-a2"],
      first_violation_at: at(200), last_violation_at: at(200),
    });
    expect(byRule.delegated_authority_leak).toMatchObject({ agent_id: "api-sub", severity: "critical", sample_event_ids: ["inc-a3"] });
    expect(byRule.partial_containment).toMatchObject({ agent_id: null, severity: "critical", violation_count: 2 });
    for (const a of items) {
      expect(Object.keys(a)).toEqual(expect.arrayContaining(["id", "rule", "severity", "status", "revocation_id", "agent_id", "pipeline_id",
        "layers_enforcing", "layers_leaking", "violation_count", "first_violation_at", "last_violation_at", "sample_event_ids", "created_at", "updated_at"]));
      expect(a.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    // Filters combine.
    const critical = await json(await call(alertsRoute.GET, "/api/v1/alerts?revocation_id=inc-rev&severity=critical&rule=delegated_authority_leak"));
    expect(critical.items.map((a: any) => a.agent_id)).toEqual(["api-sub"]);
  });

  it("reports the revocation's containment, layers and propagation delay", async () => {
    const rev = await json(await call(revocationRoute.GET, "/api/v1/revocations/inc-rev", { params: { event_id: "inc-rev" } }));
    expect(rev).toMatchObject({
      event_id: "inc-rev", scope: "agent", subject: "api-orch", cascade: true, reinstated_at: null, containment: "partial",
      layers: { gateway: "enforcing", secret_store: "leaking", tool: "leaking" }, propagation_ms: { gateway: 100 },
      violation_count: 2, blocked_count: 1,
    });
    expect(rev.alerts).toHaveLength(3);
    const partial = await json(await call(revocationsRoute.GET, "/api/v1/revocations?containment=partial&limit=1000"));
    expect(partial.items.every((r: any) => r.containment === "partial")).toBe(true);
    expect(partial.items.map((r: any) => r.event_id)).toContain("inc-rev");
    const missing = await call(revocationRoute.GET, "/api/v1/revocations/nope", { params: { event_id: "nope" } });
    expect(missing.status).toBe(404);
  });

  it("filters post-revocation actions and pages through them with stable cursors while data arrives", async () => {
    const all = await json(await call(pairsRoute.GET, "/api/v1/post-revocation-actions?limit=1000"));
    expect(all.items.length).toBeGreaterThan(20);
    expect(all.next_cursor).toBeNull();
    const total = all.items.length;
    // Newest first.
    const times = all.items.map((p: any) => p.time);
    expect([...times].sort().reverse()).toEqual(times);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/v1/post-revocation-actions?limit=7${cursor ? `&cursor=${cursor}` : ""}`;
      const res: { items: any[]; next_cursor: string | null } = await json(await call(pairsRoute.GET, url));
      seen.push(...res.items.map((p: any) => `${p.event_id}/${p.revocation_id}`));
      cursor = res.next_cursor;
      if (pages++ === 1) {
        // Newer post-revocation activity arrives between pages: it must not shift later pages.
        await produceJson(producer, config().KAFKA_TOPIC, [
          { event_id: "late-1", type: "action", time: at(500_000), agent_id: "api-orch", pipeline_id: "api-pipe", layer: "tool", action: "execute_tool", decision: "allow" },
        ]);
        await eventually(async () => (await count("SELECT count() FROM post_revocation_actions FINAL WHERE event_id = 'late-1'")) > 0, 20_000, "late pair");
      }
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(total);

    const denied = await json(await call(pairsRoute.GET, "/api/v1/post-revocation-actions?decision=deny&limit=1000"));
    expect(denied.items.length).toBeGreaterThan(0);
    expect(denied.items.every((p: any) => p.decision === "deny" && p.violation === false)).toBe(true);
    const sub = await json(await call(pairsRoute.GET, "/api/v1/post-revocation-actions?agent_id=api-sub&layer=secret_store"));
    expect(sub.items).toEqual([
      expect.objectContaining({ event_id: "inc-a3", revocation_id: "inc-rev", violation: true, via: "cascade", credential_id: "api-tok-sub", decision: "allow" }),
    ]);
    const ranged = await json(await call(pairsRoute.GET, `/api/v1/post-revocation-actions?from=${encodeURIComponent(at(150))}&to=${encodeURIComponent(at(250))}&agent_id=api-orch`));
    expect(ranged.items.map((p: any) => p.event_id)).toEqual(["inc-a2"]);
  });

  it("streams CSV and NDJSON exports with every matching row", async () => {
    const all = await json(await call(pairsRoute.GET, "/api/v1/post-revocation-actions?limit=1000&violation=true"));
    const csv = await call(pairsRoute.GET, "/api/v1/post-revocation-actions?format=csv&violation=true");
    expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
    expect(csv.headers.get("content-disposition")).toMatch(/attachment; filename=".*\.csv"/);
    const lines = (await csv.text()).trim().split("\n");
    expect(lines[0]).toBe("event_id,revocation_id,violation,via,time,agent_id,pipeline_id,session_id,credential_id,layer,action,resource,decision,sensitivity");
    expect(lines).toHaveLength(all.items.length + 1);
    expect(lines.slice(1).every((l) => l.split(",")[2] === "true")).toBe(true);
    const nd = await call(pairsRoute.GET, "/api/v1/post-revocation-actions?format=ndjson&agent_id=api-orch");
    const rows = (await nd.text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.map((r) => r.event_id).sort()).toEqual(["inc-a1", "inc-a2", "late-1"]);
  });

  it("rejects bad parameters with a 400 that names them", async () => {
    const cases: [string, string][] = [
      ["/api/v1/post-revocation-actions?limit=5000", "limit"],
      ["/api/v1/post-revocation-actions?decision=maybe", "decision"],
      ["/api/v1/post-revocation-actions?from=yesterday", "from"],
      // No offset: which time zone would it be in? Not the server's.
      ["/api/v1/post-revocation-actions?to=2026-06-01T10:00:00", "to"],
      ["/api/v1/post-revocation-actions?cursor=garbage", "cursor"],
      ["/api/v1/alerts?status=closed", "status"],
    ];
    for (const [url, param] of cases) {
      const handler = url.startsWith("/api/v1/alerts") ? alertsRoute.GET : pairsRoute.GET;
      const res = await call(handler, url);
      expect(res.status, url).toBe(400);
      expect((await json(res)).error).toMatchObject({ code: "invalid_parameter", param });
    }
  });

  it("acknowledges an alert, keeps the change in its history, and re-opens it when new violations arrive", async () => {
    const { items } = await json(await call(alertsRoute.GET, "/api/v1/alerts?revocation_id=inc-rev&rule=delegated_authority_leak"));
    const id = items[0].id;
    const patched = await call(alertRoute.PATCH, `/api/v1/alerts/${id}`, { method: "PATCH", params: { id }, body: { status: "acknowledged", comment: "looking" } });
    expect(patched.status).toBe(200);
    expect((await json(patched)).status).toBe("acknowledged");
    const listed = await json(await call(alertsRoute.GET, "/api/v1/alerts?status=acknowledged"));
    expect(listed.items.map((a: any) => a.id)).toContain(id);
    const bad = await call(alertRoute.PATCH, `/api/v1/alerts/${id}`, { method: "PATCH", params: { id }, body: { status: "done" } });
    expect(bad.status).toBe(400);
    // A field the route does not take is refused by name, not dropped.
    const unknown = await call(alertRoute.PATCH, `/api/v1/alerts/${id}`, { method: "PATCH", params: { id }, body: { status: "resolved", assignee: "me" } });
    expect(unknown.status).toBe(400);
    expect((await json(unknown)).error).toMatchObject({ code: "invalid_parameter", param: "assignee" });
    expect((await json(await call(alertRoute.GET, `/api/v1/alerts/${id}`, { params: { id } }))).status).toBe("acknowledged");

    await produceJson(producer, config().KAFKA_TOPIC, [
      { event_id: "inc-a4", type: "action", time: at(400), agent_id: "api-sub", pipeline_id: "api-pipe", credential_id: "api-tok-sub", layer: "tool", action: "execute_tool", decision: "allow" },
    ]);
    const reopened = await eventually(async () => {
      const a = await json(await call(alertRoute.GET, `/api/v1/alerts/${id}`, { params: { id } }));
      return a.status === "open" && a.violation_count === 2 ? a : null;
    }, 20_000, "alert re-opened");
    expect(reopened.reopened).toBe(true);
    expect(reopened.history.map((h: any) => h.kind)).toEqual(["raised", "acknowledged", "reopened"]);
    expect(reopened.history[1]).toMatchObject({ from_status: "open", to_status: "acknowledged", comment: "looking", actor: "bootstrap key" });
  });

  it("shows agents, the agent's timeline with flags, and the pipeline's containment matrix", async () => {
    const agents = await json(await call(agentsRoute.GET, "/api/v1/agents?q=api-orch"));
    expect(agents.items).toEqual([expect.objectContaining({ agent_id: "api-orch", revoked: true, containment: "partial", pipelines: ["api-pipe"] })]);
    const agent = await json(await call(agentRoute.GET, "/api/v1/agents/api-sub", { params: { agent_id: "api-sub" } }));
    expect(agent.credentials).toEqual([expect.objectContaining({ credential_id: "api-tok-sub", parent_id: "api-tok-orch", presented_by: ["api-sub"] })]);
    const tl = await json(await call(timelineRoute.GET, "/api/v1/agents/api-orch/timeline", { params: { agent_id: "api-orch" } }));
    const a2 = tl.items.find((e: any) => e.event_id === "inc-a2");
    expect(a2.post_revocation).toEqual([{ revocation_id: "inc-rev", violation: true, via: "direct" }]);
    expect(tl.items.find((e: any) => e.event_id === "inc-a1").post_revocation[0].violation).toBe(false);
    expect(tl.revocations.map((r: any) => r.event_id)).toContain("inc-rev");
    // The sub-agent is not the revoked subject: its timeline shows the revocation through its
    // cascade pairs (the revocation's `agents`), the revoked agent's through the subject.
    const subTl = await json(await call(timelineRoute.GET, "/api/v1/agents/api-sub/timeline", { params: { agent_id: "api-sub" } }));
    expect(subTl.revocations.map((r: any) => r.event_id)).toContain("inc-rev");
    expect(subTl.items.some((e: any) => e.post_revocation.some((p: any) => p.revocation_id === "inc-rev" && p.via === "cascade"))).toBe(true);
    const pipes = await json(await call(pipelinesRoute.GET, "/api/v1/pipelines"));
    expect(pipes.items.map((p: any) => p.pipeline_id)).toContain("api-pipe");
    const pipe = await json(await call(pipelineRoute.GET, "/api/v1/pipelines/api-pipe", { params: { pipeline_id: "api-pipe" } }));
    const cell = (agent: string, layer: string) => pipe.matrix.find((c: any) => c.agent_id === agent && c.layer === layer)?.status;
    expect(cell("api-orch", "tool")).toBe("leaking");
    expect(cell("api-orch", "gateway")).toBe("enforcing");
    expect(cell("api-sub", "gateway")).toBe("silent");
    const overview = await json(await call(overviewRoute.GET, `/api/v1/overview?from=${encodeURIComponent(at(-60_000))}&to=${encodeURIComponent(at(200_000))}`));
    expect(overview.counts.partial).toBeGreaterThanOrEqual(1);
    expect(overview.leaking_layers.length).toBeGreaterThan(0);
  });

  it("accepts events over HTTP through Kafka, and says which ones it rejected", async () => {
    const good = actionEvent({ agent_id: "http-agent" });
    const ok = await call(eventsRoute.POST, "/api/v1/events", { method: "POST", body: good });
    expect(ok.status).toBe(202);
    expect(await json(ok)).toEqual({ accepted: 1, rejected: 0, errors: [] });
    const mixed = await call(eventsRoute.POST, "/api/v1/events", {
      method: "POST",
      body: [actionEvent({ agent_id: "http-agent" }), { event_id: "x", type: "action", time: "soon" }],
    });
    const body = await json(mixed);
    expect(mixed.status).toBe(202);
    expect(body).toMatchObject({ accepted: 1, rejected: 1, errors: [{ index: 1, event_id: "x", reason: expect.stringContaining("time") }] });
    const notJson = await call(eventsRoute.POST, "/api/v1/events", { method: "POST", rawBody: "{oops" });
    expect(notJson.status).toBe(400);
    expect((await json(notJson)).error.code).toBe("invalid_json");
    await eventually(async () => (await count("SELECT count() FROM events FINAL WHERE agent_id = 'http-agent'")) === 2, 20_000, "HTTP events stored");
  });
});
