/**
 * Ids in the path as Next.js hands them to a route: decoded once ("cpu-100%" from
 * "/agents/cpu-100%25"). A handler that decoded them again answered 500 for an id with a "%",
 * and another agent's data for one like "a%41". And an agent working in two pipelines: each
 * pipeline's containment matrix shows what the agent did in that pipeline only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { config } from "@/lib/config";
import { closeStore } from "@/lib/store/clickhouse";
import { startWorker, type Worker } from "@/ingest/worker";
import * as agentRoute from "@/app/api/v1/agents/[agent_id]/route";
import * as timelineRoute from "@/app/api/v1/agents/[agent_id]/timeline/route";
import * as pipelineRoute from "@/app/api/v1/pipelines/[pipeline_id]/route";
import * as eventRoute from "@/app/api/v1/events/[event_id]/route";
import * as revocationRoute from "@/app/api/v1/revocations/[event_id]/route";
import * as statusRoute from "@/app/api/v1/credentials/[id]/status/route";
import { call, json, TEST_API_KEY } from "../helpers/api";
import { configureTestStack, produceJson, testProducer, waitUntilConsumed } from "../helpers/stack";

const T0 = Date.UTC(2026, 9, 2, 9, 0, 0);
const at = (ms: number) => new Date(T0 + ms).toISOString();

describe("ids with a percent sign, and an agent in two pipelines", () => {
  let producer: Producer;
  let worker: Worker;
  const agent = "cpu-100%";
  // Looks like an encoding of "aA": read as the id it is, never as another agent's.
  const lookalike = "a%41";
  const events = [
    { event_id: "pi-iss", type: "credential_issued", time: at(-2000), agent_id: agent, pipeline_id: "pi-west", credential: { id: "tok-50%" } },
    { event_id: "pi-a0", type: "action", time: at(-1000), agent_id: agent, pipeline_id: "pi-east", layer: "gateway", action: "http.request", decision: "allow" },
    { event_id: "pi-rev%1", type: "revocation", time: at(0), revocation: { scope: "credential", subject: "tok-50%", reason: "leaked" } },
    // After the revocation: the revoked credential leaks in pi-west; in pi-east the agent acts without it.
    { event_id: "pi-a1", type: "action", time: at(100), agent_id: agent, pipeline_id: "pi-west", credential_id: "tok-50%", layer: "tool", action: "execute_tool", decision: "allow" },
    { event_id: "pi-a2", type: "action", time: at(200), agent_id: agent, pipeline_id: "pi-east", layer: "tool", action: "execute_tool", decision: "allow" },
    { event_id: "pi-aA", type: "action", time: at(300), agent_id: "aA", pipeline_id: "pi-east", layer: "tool", action: "execute_tool", decision: "allow" },
    { event_id: "pi-lookalike", type: "action", time: at(400), agent_id: lookalike, pipeline_id: "pi-east", layer: "tool", action: "execute_tool", decision: "allow" },
  ];

  beforeAll(async () => {
    configureTestStack({ REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY, INGEST_FLUSH_MS: "50" });
    producer = await testProducer();
    worker = await startWorker();
    await produceJson(producer, config().KAFKA_TOPIC, events);
    await waitUntilConsumed(events.length);
    await worker.engine.idle();
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await producer?.disconnect();
    await closeStore();
  });

  it("serves the agent, its timeline, the event, the revocation and the credential's status by ids with a percent sign", async () => {
    const shown = await call(agentRoute.GET, `/api/v1/agents/${encodeURIComponent(agent)}`, { params: { agent_id: agent } });
    expect(shown.status).toBe(200);
    expect((await json(shown)).agent_id).toBe(agent);

    const timeline = await json(await call(timelineRoute.GET, `/api/v1/agents/${encodeURIComponent(agent)}/timeline`, { params: { agent_id: agent } }));
    expect(timeline.items.map((e: { event_id: string }) => e.event_id).sort()).toEqual(["pi-a0", "pi-a1", "pi-a2", "pi-iss"]);
    expect(timeline.revocations.map((r: { event_id: string }) => r.event_id)).toEqual(["pi-rev%1"]);

    const lookalikeTimeline = await json(await call(timelineRoute.GET, `/api/v1/agents/${encodeURIComponent(lookalike)}/timeline`, { params: { agent_id: lookalike } }));
    expect(lookalikeTimeline.items.map((e: { event_id: string }) => e.event_id)).toEqual(["pi-lookalike"]);

    const event = await call(eventRoute.GET, `/api/v1/events/${encodeURIComponent("pi-rev%1")}`, { params: { event_id: "pi-rev%1" } });
    expect(event.status).toBe(200);
    const revocation = await call(revocationRoute.GET, `/api/v1/revocations/${encodeURIComponent("pi-rev%1")}`, { params: { event_id: "pi-rev%1" } });
    expect(revocation.status).toBe(200);
    expect((await json(revocation)).violation_count).toBe(1);

    const status = await call(statusRoute.GET, `/api/v1/credentials/${encodeURIComponent("tok-50%")}/status`, { params: { id: "tok-50%" } });
    expect(status.status).toBe(200);
    expect(await json(status)).toMatchObject({ credential_id: "tok-50%", covered: true, revocations: [expect.objectContaining({ event_id: "pi-rev%1", via: "direct" })] });
  });

  it("shows in each pipeline's matrix what the agent did in that pipeline", async () => {
    const cell = (pipeline: { matrix: { agent_id: string; layer: string; status: string; violations: number }[] }, layer: string) =>
      pipeline.matrix.find((c) => c.agent_id === agent && c.layer === layer);
    const west = await json(await call(pipelineRoute.GET, "/api/v1/pipelines/pi-west", { params: { pipeline_id: "pi-west" } }));
    expect(cell(west, "tool")).toMatchObject({ status: "leaking", violations: 1 });
    const east = await json(await call(pipelineRoute.GET, "/api/v1/pipelines/pi-east", { params: { pipeline_id: "pi-east" } }));
    // The leak was in pi-west: pi-east had no action under the revocation.
    expect(east.revocations).toEqual([]);
    expect(cell(east, "tool")).toMatchObject({ status: "silent", violations: 0 });
    expect(east.containment).toBeNull();
  });
});
