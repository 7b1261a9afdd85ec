#!/usr/bin/env node
// `npm start`: everything Revenant needs on one machine, in one command.
//   1. the local Kafka broker (fetched from Maven Central on first run),
//   2. the web app + ingest consumer + detection in one Node process (embedded ClickHouse;
//      ingest and detection on a worker thread of their own, ingest/in-app.ts),
//   3. demo traffic through Kafka (on by default; --no-demo or REVENANT_DEMO=0 turns it off).
// Flags: --no-demo, --dev (next dev instead of a production build), --no-build.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unexpectedExitCode, whenExited } from "./supervise.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = new Set(process.argv.slice(2));
const dev = args.has("--dev");
const demo = !args.has("--no-demo") && process.env.REVENANT_DEMO !== "0";
const port = process.env.PORT ?? "3000";
const kafkaPort = process.env.KAFKA_PORT ?? "9092";
process.env.KAFKA_PORT = kafkaPort;

const env = {
  ...process.env,
  PORT: port,
  KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? `127.0.0.1:${kafkaPort}`,
  REVENANT_DATA_DIR: process.env.REVENANT_DATA_DIR ?? path.join(root, ".data", dev ? "dev" : "app"),
  REVENANT_DEMO: demo ? "1" : "0",
  // The worker inside the app handles SIGTERM itself (instrumentation.ts): it stores and
  // commits what it holds before the process exits.
  NEXT_MANUAL_SIG_HANDLE: "true",
  // `next start` runs with NODE_ENV=production, where cookies default to Secure + __Host-
  // (README "Security"); this one-machine command serves plain http, so cookies follow the
  // request's scheme unless the operator says otherwise.
  REVENANT_COOKIE_SECURE: process.env.REVENANT_COOKIE_SECURE ?? "auto",
};
if (demo) {
  env.REVENANT_ADMIN_EMAIL ??= "admin@revenant.local";
  env.REVENANT_ADMIN_PASSWORD ??= "revenant-demo";
}

const children = [];
function run(cmd, argv, opts = {}) {
  const child = spawn(cmd, argv, { cwd: root, env, stdio: "inherit", ...opts });
  children.push(child);
  return child;
}

function newestSourceMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(p));
    else newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function buildIsStale() {
  const buildId = path.join(root, ".next", "BUILD_ID");
  if (!existsSync(buildId)) return true;
  const built = statSync(buildId).mtimeMs;
  return ["app", "components", "lib", "ingest"].some((d) => existsSync(path.join(root, d)) && newestSourceMtime(path.join(root, d)) > built);
}

let shuttingDown = false;
async function shutdown(code = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const c of children) c.kill("SIGTERM");
  // The app stores and commits what it holds within 30 s (ingest/in-app.ts); past that it is killed.
  const force = setTimeout(() => children.forEach((c) => c.kill("SIGKILL")), 40_000);
  await Promise.all(children.map(whenExited));
  clearTimeout(force);
  const { stopBroker } = await import("./kafka/broker.mjs");
  await stopBroker().catch((err) => console.error(`[revenant] stopping the Kafka broker failed: ${err.message}`));
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

const { startBroker } = await import("./kafka/broker.mjs");
await startBroker();

if (!dev && !args.has("--no-build") && buildIsStale()) {
  console.log("[revenant] building the web app (next build)…");
  const r = spawnSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], { cwd: root, env, stdio: "inherit" });
  if (r.status !== 0) await shutdown(r.status ?? 1);
}

const next = path.join(root, "node_modules/next/dist/bin/next");
// No V8 flags: the ingest thread sets its own young generation (ingest/in-app.ts), and the main
// thread, which serves requests, keeps V8's default, whose scavenges pause it for less.
const app = run(process.execPath, [next, dev ? "dev" : "start", "-p", port]);
// The app ending on its own (crash, OOM kill, SIGKILL) stops everything else too, and
// `npm start` reports it with a non-zero exit code.
app.once("exit", (code, signal) => {
  if (!shuttingDown) console.error(`[revenant] the app stopped (${signal ?? `exit code ${code}`}); stopping everything`);
  void shutdown(unexpectedExitCode(code, signal));
});

if (demo) {
  // Give the consumer a moment to create the topics and join its group.
  setTimeout(() => {
    const gen = run(process.execPath, ["--import", "tsx", "scripts/demo.ts"]);
    gen.once("exit", (code) => code && console.error(`[revenant] demo generator exited with ${code}`));
  }, 3_000);
}

setTimeout(() => {
  console.log(`
[revenant] http://localhost:${port}
${demo ? `[revenant] demo mode: sign in as ${env.REVENANT_ADMIN_EMAIL} / ${env.REVENANT_ADMIN_PASSWORD}
[revenant] demo traffic is flowing; the first incident is raised within ~10 s.` : ""}
[revenant] Ctrl-C stops the app, the demo and the Kafka broker.`);
}, 5_000);
