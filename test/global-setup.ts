/**
 * Starts the project's real Kafka broker once for the whole test run (unless
 * KAFKA_BROKERS points at one already) and tells test files where it is.
 * Tests that need no broker (unit tests) pay nothing when it is already running.
 */
import type { TestProject } from "vitest/node";

const TEST_KAFKA_PORT = Number(process.env.TEST_KAFKA_PORT ?? 19092);

export default async function setup(project: TestProject) {
  if (process.env.KAFKA_BROKERS) {
    project.provide("kafkaBrokers", process.env.KAFKA_BROKERS);
    return;
  }
  process.env.KAFKA_PORT = String(TEST_KAFKA_PORT);
  // @ts-expect-error plain .mjs script without types
  const broker = await import("../scripts/kafka/broker.mjs");
  await broker.startBroker();
  project.provide("kafkaBrokers", `127.0.0.1:${TEST_KAFKA_PORT}`);
  // The broker is left running between local runs (starting it costs ~5 s);
  // .ci/run stops it. Set TEST_STOP_KAFKA=1 to stop it here.
  return async () => {
    if (process.env.TEST_STOP_KAFKA === "1") await broker.stopBroker();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}
