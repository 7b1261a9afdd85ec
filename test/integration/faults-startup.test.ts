/**
 * After a restart the web app must answer at once: the worker starts in the background, in a
 * thread of its own (ingest/in-app.ts), and health reports ingest as "starting" until it
 * consumes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { createKafka, ensureTopics } from "@/lib/kafka";
import { closeStore } from "@/lib/store/clickhouse";
import { runtimeStatus } from "@/lib/runtime-status";
import { startWorkerInApp, type IngestThread } from "@/ingest/in-app";
import * as healthRoute from "@/app/api/v1/health/route";
import { actionEvent, configureTestStack, count, eventually, produceJson, testProducer, waitUntilConsumed } from "../helpers/stack";
import { call } from "../helpers/api";

describe("start-up in the app process", () => {
  let worker: IngestThread | undefined;
  beforeAll(async () => {
    configureTestStack({ REVENANT_ROLES: "web,worker" });
    // A restart: the topics exist already.
    await ensureTopics(createKafka());
  });
  afterAll(async () => {
    await worker?.stop();
    process.removeAllListeners("SIGTERM");
    process.removeAllListeners("SIGINT");
    await closeStore();
  });

  it("returns before the worker runs, reports starting, then ok once it consumes", async () => {
    const inApp = await startWorkerInApp();
    expect(inApp).not.toBeNull();
    // register() has returned: Next.js serves from here on, while the worker is still starting.
    expect(runtimeStatus().ingest.state).toBe("starting");
    const starting = await call(healthRoute.GET, "/api/v1/health", { auth: null });
    expect(starting.status).toBe(200);
    expect((await starting.json()).status).toBe("starting");

    worker = await inApp!.started;
    await eventually(async () => runtimeStatus().ingest.state === "consuming", 60_000, "the consumer in its group");
    const producer = await testProducer();
    const events = Array.from({ length: 50 }, () => actionEvent({ agent_id: "startup-agent" }));
    await produceJson(producer, process.env.KAFKA_TOPIC!, events);
    await producer.disconnect();
    await waitUntilConsumed(events.length);
    await worker.idle();
    // Stored by the thread's sessions, read by this thread's: one engine, one data directory.
    expect(await count("SELECT count() FROM events FINAL")).toBe(events.length);
    const ok = await call(healthRoute.GET, "/api/v1/health", { auth: null });
    expect(ok.status).toBe(200);
    expect((await ok.json()).status).toBe("ok");
  }, 120_000);

  it("still ends the process with exit code 1 when the worker cannot start", async () => {
    // ClickHouse refuses the connection, so migrations fail after register() has returned.
    const child = spawn(process.execPath, ["--import", "tsx", "-e", "import('./ingest/in-app.ts').then((m) => m.startWorkerInApp())"], {
      env: { ...process.env, REVENANT_ROLES: "web,worker", CLICKHOUSE_URL: "http://127.0.0.1:1", LOG_LEVEL: "fatal" },
      stdio: "ignore",
    });
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    expect(code).toBe(1);
  }, 60_000);
});
