/**
 * End-to-end tests of the SOC dashboard against the real stack: a production build of
 * the app (`next build` into .next-e2e, `next start` on :3100) with its embedded
 * ClickHouse in a fresh temp dir, the project's real Kafka broker (started by
 * test/e2e/serve.mjs if it is not running: Playwright starts webServer before any
 * globalSetup), and topics / consumer group unique to this run.
 * Browser: Debian's Chromium (`apt-get install chromium`); `npx playwright install`
 * cannot download browsers here.
 */
import { defineConfig } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";

// The config is evaluated in the runner and again in each worker: the run's identity is
// fixed once, in the runner, and inherited by the workers through the environment.
process.env.E2E_RUN_ID ??= randomUUID().slice(0, 8);
process.env.E2E_DATA_DIR ??= mkdtempSync(path.join(os.tmpdir(), `revenant-e2e-${process.env.E2E_RUN_ID}-`));
process.env.E2E_API_KEY ??= `e2e-${randomUUID()}`; // 40 characters: bootstrap keys need 32
process.env.E2E_ADMIN_EMAIL ??= "admin@e2e.local";
process.env.E2E_ADMIN_PASSWORD ??= `pw-${randomUUID()}`;
const RUN = process.env.E2E_RUN_ID;
const PORT = Number(process.env.E2E_PORT ?? 3100);
const KAFKA_PORT = Number(process.env.E2E_KAFKA_PORT ?? 19092);
export const BASE_URL = `http://127.0.0.1:${PORT}`;

export default defineConfig({
  testDir: "test/e2e",
  testMatch: /.*\.spec\.ts/,
  fullyParallel: false,
  workers: 1,
  // One retry in CI: a 2-core machine under a production build can be slow once; a test
  // that passes only on retry is reported as flaky in the list output.
  retries: process.env.CI ? 1 : 0,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  // list for people; json for scripts/test.mjs, which adds the counts to the suite's closing line.
  reporter: [["list"], ["json", { outputFile: "reports/playwright.json" }]],
  outputDir: "test-results/e2e",
  use: {
    baseURL: BASE_URL,
    viewport: { width: 1440, height: 900 },
    // An admin bearer key: the proxy lets pages through with it, the API accepts it.
    extraHTTPHeaders: { Authorization: `Bearer ${process.env.E2E_API_KEY}` },
    acceptDownloads: true,
    timezoneId: "UTC",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
  webServer: {
    command: "node test/e2e/serve.mjs",
    url: `${BASE_URL}/api/v1/health`,
    timeout: 240_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      NEXT_DIST_DIR: ".next-e2e",
      KAFKA_PORT: String(KAFKA_PORT),
      E2E_SKIP_BUILD: process.env.E2E_SKIP_BUILD ?? "0",
      NODE_ENV: "production",
      PORT: String(PORT),
      REVENANT_DATA_DIR: process.env.E2E_DATA_DIR,
      KAFKA_BROKERS: `127.0.0.1:${KAFKA_PORT}`,
      KAFKA_TOPIC: `e2e.${RUN}.events`,
      KAFKA_DLQ_TOPIC: `e2e.${RUN}.events.dlq`,
      KAFKA_GROUP_ID: `e2e-${RUN}`,
      INGEST_FLUSH_MS: "100",
      LOG_LEVEL: "warn",
      REVENANT_BOOTSTRAP_API_KEY: process.env.E2E_API_KEY,
      REVENANT_ADMIN_EMAIL: process.env.E2E_ADMIN_EMAIL,
      REVENANT_ADMIN_PASSWORD: process.env.E2E_ADMIN_PASSWORD,
      REVENANT_DEMO: "0",
      REVENANT_WEBHOOK_ALLOWLIST: "127.0.0.1",
      // The e2e server is plain http on 127.0.0.1: Secure/__Host- cookies (the production default) would not be sent back.
      REVENANT_COOKIE_SECURE: "false",
      OTLP_KAFKA_TOPIC: `e2e.${RUN}.otlp`,
      SSF_ALLOWLIST: "127.0.0.1",
    },
  },
});
