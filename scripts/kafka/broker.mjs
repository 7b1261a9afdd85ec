#!/usr/bin/env node
// Local single-node Apache Kafka broker (KRaft combined mode) for development, tests and CI.
//
//   node scripts/kafka/broker.mjs fetch         # mvn: jars into scripts/kafka/target/kafka-libs (cached)
//   node scripts/kafka/broker.mjs start         # fetch, format storage once, start, wait for metadata
//   node scripts/kafka/broker.mjs stop          # SIGTERM, wait for a clean shutdown
//   node scripts/kafka/broker.mjs run           # start in the foreground (stops with this process)
//
// Settings (environment): KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT + 1000),
// KAFKA_DATA_DIR (.data/kafka-<port>), KAFKA_HEAP (512m).
// Kept dependency-free (plain Node) so it runs before `npm install` has finished anything else.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, openSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, "../..");
const libsDir = path.join(here, "target", "kafka-libs");
const port = Number(process.env.KAFKA_PORT ?? 9092);
const controllerPort = Number(process.env.KAFKA_CONTROLLER_PORT ?? port + 1000);
const dataDir = path.resolve(process.env.KAFKA_DATA_DIR ?? path.join(projectRoot, ".data", `kafka-${port}`));
const heap = process.env.KAFKA_HEAP ?? "512m";
const pidFile = path.join(dataDir, "broker.pid");

function log(msg) {
  process.stderr.write(`[kafka-broker:${port}] ${msg}\n`);
}

export function fetchBroker() {
  const marker = path.join(libsDir, ".complete");
  if (existsSync(marker) && readFileSync(marker, "utf8") === readFileSync(path.join(here, "pom.xml"), "utf8")) return;
  log("fetching Apache Kafka from Maven Central (first run only)…");
  const result = spawnSync(
    "mvn",
    ["-q", "-B", "dependency:copy-dependencies", `-DoutputDirectory=${libsDir}`, "-DincludeScope=runtime"],
    { cwd: here, stdio: "inherit" },
  );
  if (result.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed with exit ${result.status}`);
  writeFileSync(marker, readFileSync(path.join(here, "pom.xml"), "utf8"));
}

function classpath() {
  return readdirSync(libsDir)
    .filter((f) => f.endsWith(".jar"))
    .map((f) => path.join(libsDir, f))
    .join(":");
}

function writeServerProperties() {
  const logDir = path.join(dataDir, "logs");
  const props = `
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${logDir}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A single-node dev broker: no reason to wait for more members before the first rebalance.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
message.max.bytes=2097152
`;
  const file = path.join(dataDir, "server.properties");
  writeFileSync(file, props);
  return { file, logDir };
}

function java(mainClass, args, opts = {}) {
  return spawn(
    "java",
    [
      `-Xmx${heap}`,
      `-Xms128m`,
      "-XX:+UseG1GC",
      "-Djava.awt.headless=true",
      `-Dlog4j2.configurationFile=${path.join(here, "log4j2.properties")}`,
      "-cp",
      classpath(),
      mainClass,
      ...args,
    ],
    opts,
  );
}

function formatStorageOnce(propsFile, logDir) {
  if (existsSync(path.join(logDir, "meta.properties"))) return;
  log("formatting KRaft storage…");
  const r = spawnSync(
    "java",
    ["-cp", classpath(), `-Dlog4j2.configurationFile=${path.join(here, "log4j2.properties")}`,
      "kafka.tools.StorageTool", "format", "-t", randomUUID().replace(/-/g, "").slice(0, 22), "-c", propsFile],
    { stdio: "inherit" },
  );
  if (r.status !== 0) throw new Error(`kafka storage format failed with exit ${r.status}`);
}

function portOpen(p) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port: p });
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}

/** Waits until the broker answers a metadata request (kafkajs admin listTopics). */
async function waitForMetadata(timeoutMs = 90_000) {
  const { Kafka, logLevel } = await import("kafkajs");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port)) {
      const admin = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
      try {
        await admin.connect();
        await admin.fetchTopicMetadata({ topics: [] });
        await admin.disconnect();
        return;
      } catch {
        await admin.disconnect().catch(() => {});
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`Kafka broker on port ${port} did not answer metadata requests within ${timeoutMs} ms; see ${path.join(dataDir, "broker.log")}`);
}

function runningPid() {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, "utf8"));
  try { process.kill(pid, 0); return pid; } catch { return null; }
}

/** Starts the broker detached (or attached with foreground=true) and resolves when it serves metadata. */
export async function startBroker({ foreground = false } = {}) {
  fetchBroker();
  mkdirSync(dataDir, { recursive: true });
  const existing = runningPid();
  if (existing) {
    log(`already running (pid ${existing})`);
    await waitForMetadata();
    return existing;
  }
  if (await portOpen(port)) {
    // Another process owns the port: fine if it is a Kafka broker (started from another
    // checkout, or by hand), an error otherwise.
    try {
      await waitForMetadata(10_000);
    } catch {
      throw new Error(`port ${port} is in use by something that is not a Kafka broker; set KAFKA_PORT`);
    }
    log("a Kafka broker started elsewhere already answers on this port; using it");
    return null;
  }
  const { file, logDir } = writeServerProperties();
  formatStorageOnce(file, logDir);
  const out = openSync(path.join(dataDir, "broker.log"), "a");
  const child = java("kafka.Kafka", [file], { detached: !foreground, stdio: ["ignore", out, out] });
  writeFileSync(pidFile, String(child.pid));
  if (!foreground) child.unref();
  log(`starting (pid ${child.pid}, data ${dataDir})…`);
  const exited = new Promise((_, reject) => child.once("exit", (code) =>
    reject(new Error(`broker exited with code ${code}; see ${path.join(dataDir, "broker.log")}`))));
  await Promise.race([waitForMetadata(), exited]);
  log("ready");
  return child;
}

export async function stopBroker() {
  const pid = runningPid();
  if (!pid) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try { process.kill(pid, 0); } catch { rmSync(pidFile, { force: true }); log("stopped"); return; }
    await new Promise((r) => setTimeout(r, 200));
  }
  log("did not stop within 30 s; killing");
  try { process.kill(pid, "SIGKILL"); } catch {}
  rmSync(pidFile, { force: true });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cmd = process.argv[2] ?? "start";
  const run = {
    fetch: async () => fetchBroker(),
    start: async () => { await startBroker(); },
    stop: stopBroker,
    run: async () => {
      const child = await startBroker({ foreground: true });
      if (!child || typeof child === "number") return log("a broker is already running; nothing to run in the foreground");
      const stop = () => child.kill("SIGTERM");
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      child.on("exit", (code) => process.exit(code ?? 0));
    },
  }[cmd];
  if (!run) { console.error(`usage: broker.mjs fetch|start|stop|run`); process.exit(2); }
  run().catch((err) => { console.error(err.message); process.exit(1); });
}
