#!/usr/bin/env node
// `npm test`: the whole suite — unit and integration tests (vitest, against the real
// Kafka broker and the embedded ClickHouse engine), then end-to-end tests (Playwright in
// Debian's Chromium against the built app). Starts the test Kafka broker itself and
// stops it at the end. Prints one closing line: "tests: N passed, N failed".
//   npm test -- --no-e2e     skip the browser tests
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = new Set(process.argv.slice(2));
const kafkaPort = process.env.TEST_KAFKA_PORT ?? "19092";
process.env.KAFKA_PORT = kafkaPort;
// Not test-results/: Playwright empties that folder when it starts.
const reports = path.join(root, "reports");
mkdirSync(reports, { recursive: true });

const { startBroker, stopBroker } = await import("./kafka/broker.mjs");
await startBroker();
const env = { ...process.env, KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`, NODE_ENV: "test" };

let passed = 0;
let failed = 0;
let exitCode = 0;

function runStep(name, cmd, argv, reportFile, count) {
  rmSync(reportFile, { force: true });
  console.log(`\n[test] ${name}`);
  const r = spawnSync(cmd, argv, { cwd: root, env, stdio: "inherit" });
  if (r.status !== 0) exitCode = r.status ?? 1;
  if (existsSync(reportFile)) {
    const c = count(JSON.parse(readFileSync(reportFile, "utf8")));
    passed += c.passed;
    failed += c.failed;
    console.log(`[test] ${name}: ${c.passed} passed, ${c.failed} failed`);
  } else if (r.status !== 0) {
    failed += 1;
  }
}

const bin = (name) => path.join(root, "node_modules", ".bin", name);

console.log("\n[test] lint (eslint)");
const lint = spawnSync(bin("eslint"), ["."], { cwd: root, env, stdio: "inherit" });
if (lint.status !== 0) {
  console.log("[test] lint failed");
  exitCode = lint.status ?? 1;
}

runStep(
  "unit + integration (vitest)",
  bin("vitest"),
  ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${path.join(reports, "vitest.json")}`],
  path.join(reports, "vitest.json"),
  // A file that fails to load has no failed test of its own: count it once.
  (j) => ({ passed: j.numPassedTests ?? 0, failed: (j.numFailedTests ?? 0) || (j.success === false ? 1 : 0) }),
);

if (!args.has("--no-e2e")) {
  runStep(
    "end-to-end (Playwright, Debian Chromium)",
    bin("playwright"),
    ["test"],
    path.join(reports, "playwright.json"),
    (j) => ({ passed: (j.stats?.expected ?? 0) + (j.stats?.flaky ?? 0), failed: j.stats?.unexpected ?? 0 }),
  );
}

await stopBroker();
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(exitCode || (failed > 0 ? 1 : 0));
