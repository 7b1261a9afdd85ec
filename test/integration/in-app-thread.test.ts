/**
 * The worker in its own thread of the web process (ingest/in-app.ts): what crosses between the
 * threads reaches the other side, and the process still exits cleanly whoever ends it while
 * the thread is busy inside the embedded engine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import type { Producer } from "kafkajs";
import { createKafka, ensureTopics } from "@/lib/kafka";
import { closeStore } from "@/lib/store/clickhouse";
import { actionEvent, configureTestStack, testProducer, type TestStack } from "../helpers/stack";

/**
 * A web process with the worker in its thread, on the stack's data directory, that calls
 * process.exit(0) as soon as the thread has stored `after` events: with the stream still
 * arriving, the thread is then storing, looking up first copies or detecting.
 */
function exitWhileIngesting(stack: TestStack, after: number) {
  const script = `
    const { startWorkerInApp } = await import("./ingest/in-app.ts");
    const { runtimeStatus } = await import("./lib/runtime-status.ts");
    await (await startWorkerInApp()).started;
    const poll = setInterval(() => {
      if (runtimeStatus().ingest.stored < ${after}) return;
      clearInterval(poll);
      process.stdout.write("exiting\\n");
      process.exit(0);
    }, 2);
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env: { ...process.env, ...stack.env, REVENANT_ROLES: "web,worker", LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  return new Promise<{ code: number | null; signal: string | null; exitingAfterMs: number | null; out: string }>((resolve) => {
    let exitingAt: number | null = null;
    child.stdout!.on("data", () => (exitingAt ??= Date.now()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, exitingAfterMs: exitingAt === null ? null : Date.now() - exitingAt, out });
    });
  });
}

describe("the ingest thread of the web process", () => {
  let stack: TestStack;
  let producer: Producer;

  beforeAll(async () => {
    // The broker's smallest session timeout: an exited process's partitions are free again after 6 s.
    stack = configureTestStack({ INGEST_BATCH_SIZE: "500", INGEST_FLUSH_MS: "20", KAFKA_SESSION_TIMEOUT_MS: "6000" });
    await ensureTopics(createKafka());
    producer = await testProducer();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await closeStore();
  });

  it("lets the process exit at once, with its exit code, while the thread is busy in the engine", async () => {
    let sending = true;
    let sent = 0;
    const stream = (async () => {
      while (sending) {
        const events = Array.from({ length: 500 }, (_, i) => actionEvent({ agent_id: `exit-${(sent + i) % 7}`, event_id: `exit-${sent + i}` }));
        await producer.send({ topic: stack.topic, messages: events.map((e) => ({ value: JSON.stringify(e) })) });
        sent += events.length;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      for (let round = 1; round <= 2; round++) {
        const result = await exitWhileIngesting(stack, 2_000);
        expect(result, `round ${round}`).toMatchObject({ code: 0, signal: null, out: "exiting\n" });
        expect(result.exitingAfterMs, `round ${round}: from process.exit to the end`).toBeLessThan(15_000);
      }
    } finally {
      sending = false;
      await stream;
    }
  }, 300_000);
});
