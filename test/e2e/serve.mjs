#!/usr/bin/env node
// The e2e web server: makes sure the real Kafka broker is up, builds the app into
// NEXT_DIST_DIR and runs `next start`. Playwright starts its `webServer` BEFORE
// `globalSetup`, and the app's worker needs the broker at start, so the broker is
// started here rather than in a global setup. The broker is left running afterwards,
// like the vitest setup does (starting it costs ~5 s).
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";

const kafkaPort = Number(process.env.KAFKA_PORT ?? 19092);
const port = process.env.PORT ?? "3100";
const next = "node_modules/next/dist/bin/next";

function listening(p) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port: p }, () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });
}

if (!(await listening(kafkaPort))) {
  const { startBroker } = await import("../../scripts/kafka/broker.mjs");
  await startBroker();
}

if (process.env.E2E_SKIP_BUILD !== "1") {
  const build = spawnSync(process.execPath, [next, "build"], { stdio: ["ignore", "ignore", "inherit"], env: process.env });
  if (build.status !== 0) {
    console.error(`next build failed (exit ${build.status})`);
    process.exit(build.status ?? 1);
  }
}

const app = spawn(process.execPath, [next, "start", "-p", port], { stdio: "inherit", env: process.env });
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => app.kill(sig));
app.on("exit", (code) => process.exit(code ?? 0));
