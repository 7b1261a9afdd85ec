/**
 * Helpers for the fault tests: the dead-letter topic as a reader sees it, the worker as a
 * child process that can be killed like a crashing pod, and exact per-id counts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { config } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import { eventually, type TestStack } from "./stack";

export interface DlqMessage {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads the dead-letter topic from the start until `expected` messages arrived. */
export async function readDeadLetterTopic(dlqTopic: string, expected: number, timeoutMs = 30_000): Promise<DlqMessage[]> {
  const consumer = createKafka(config(), "-test-dlq").consumer({ groupId: `dlq-reader-${dlqTopic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
  const seen: DlqMessage[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      seen.push({ key: message.key?.toString() ?? null, value: message.value, headers });
    },
  });
  try {
    await eventually(async () => seen.length >= expected, timeoutMs, `${expected} dead letters`);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** Worker processes still running: killed when the test process exits, even after a failed or timed-out test. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** The real worker (ingest/main.ts) in its own process, on the stack's data directory. */
export function startWorkerProcess(stack: TestStack, extra: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "ingest/main.ts"], {
    env: { ...process.env, ...stack.env, REVENANT_ROLES: "worker", ...extra },
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  child.stderr!.on("data", (d) => process.stderr.write(d));
  return child;
}

/** Resolves with the exit code (null when a signal ended it), also for a child that already exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
  });
}
