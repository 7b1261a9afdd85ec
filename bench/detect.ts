/**
 * npm run bench:detect — detection latency under load.
 *
 * A worker (consumer + detection, in this process) runs while a second process produces
 * steady background traffic (BENCH_RATE, default 10,000 events/s). Twenty agents are
 * revoked; every 300 ms an offending action of one of them is produced, and the time
 * until its alert shows the new violation through the API (GET /api/v1/alerts/{id},
 * the real route handler) is measured. Reference in the same run: the time until the same
 * action is merely stored (visible in the events table) — the floor set by ingest.
 * A local receiver is registered as a webhook endpoint, and the time until the signed
 * webhook announcing the new violation arrives is measured too.
 * Prints p50/p95/p99 and ratios. Targets: alert p99 ≤ 1,000 ms, webhook p99 ≤ 1,500 ms.
 */
import { spawn } from "node:child_process";
import { Partitioners } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka, ensureTopics } from "@/lib/kafka";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { alertId } from "@/lib/detection/alert-id";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startWorker } from "@/ingest/worker";
import { workerJobs } from "@/ingest/jobs";
import * as alertRoute from "@/app/api/v1/alerts/[id]/route";
import * as webhooksRoute from "@/app/api/v1/webhooks/route";
import { benchEnvironment } from "./common";

const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const INJECTIONS = Number(process.env.BENCH_INJECTIONS ?? 100);
const KEY = "bench-detect-key-0123456789abcdefghijkl";

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function main() {
  await benchEnvironment("detect", {
    REVENANT_BOOTSTRAP_API_KEY: KEY,
    INGEST_FLUSH_MS: process.env.INGEST_FLUSH_MS ?? "50",
    REVENANT_WEBHOOK_ALLOWLIST: "127.0.0.1",
    // Every new violation is announced, so that each one's webhook latency can be measured
    // (the default coalesces count-only updates to one per 30 s per alert).
    REVENANT_ALERT_UPDATE_INTERVAL_MS: "0",
  });
  // The webhook receiver: records when each alert first announced a violation at or after a time.
  const arrivals: { alertId: string; lastViolationAt: string; at: number }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const { alert } = JSON.parse(body);
      arrivals.push({ alertId: alert.id, lastViolationAt: alert.last_violation_at, at: performance.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const cfg = config();
  const kafka = createKafka(cfg, "-bench");
  await ensureTopics(kafka, cfg);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const worker = await startWorker({ jobs: workerJobs() });
  const created = await webhooksRoute.POST(
    new Request("http://localhost/api/v1/webhooks", { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: JSON.stringify({ url: receiverUrl }) }),
    { params: Promise.resolve({}) },
  );
  if (created.status !== 201 && created.status !== 200) throw new Error(`webhook endpoint not created: ${created.status} ${await created.text()}`);

  const agents = Array.from({ length: 20 }, (_, i) => `bench-revoked-${i}`);
  const revokedAt = Date.now() - 10_000;
  await producer.send({
    topic: cfg.KAFKA_TOPIC,
    messages: agents.map((a, i) => ({
      key: a,
      value: JSON.stringify({ event_id: `bench-rev-${i}`, type: "revocation", time: new Date(revokedAt).toISOString(), revocation: { scope: "agent", subject: a } }),
    })),
  });

  const seconds = Math.ceil((INJECTIONS * 300) / 1000) + 15;
  const load = spawn(process.execPath, ["--import", "tsx", "bench/background-load.ts"], {
    env: { ...process.env, RATE: String(RATE), SECONDS: String(seconds) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let loadReport = "";
  load.stdout!.on("data", (d) => (loadReport += d));
  await new Promise((r) => setTimeout(r, 5_000)); // let the background load reach its rate

  const alertLatency: number[] = [];
  const webhookLatency: number[] = [];
  const storeLatency: number[] = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < INJECTIONS; i++) {
    const agent = agents[i % agents.length];
    const time = new Date().toISOString();
    const eventId = `bench-offence-${i}`;
    const sentAt = performance.now();
    await producer.send({
      topic: cfg.KAFKA_TOPIC,
      messages: [{ key: agent, value: JSON.stringify({ event_id: eventId, type: "action", time, agent_id: agent, layer: "tool", action: "execute_tool", decision: "allow" }) }],
    });
    const id = alertId("post_revocation_activity", `bench-rev-${i % agents.length}`, agent);
    pending.push(
      (async () => {
        for (;;) {
          const hit = arrivals.find((a) => a.alertId === id && a.lastViolationAt >= time);
          if (hit) return void webhookLatency.push(hit.at - sentAt);
          if (performance.now() - sentAt > 30_000) throw new Error(`webhook for ${eventId} not received after 30 s`);
          await new Promise((r) => setTimeout(r, 5));
        }
      })(),
    );
    pending.push(
      (async () => {
        let stored = false;
        for (;;) {
          if (!stored) {
            const rows = await queryRows<{ n: number }>(store().reader, "bench", "SELECT count() AS n FROM events WHERE agent_id = {a:String} AND event_id = {e:String}", { a: agent, e: eventId });
            if (Number(rows[0].n) > 0) {
              stored = true;
              storeLatency.push(performance.now() - sentAt);
            }
          }
          const res = await alertRoute.GET(new Request(`http://localhost/api/v1/alerts/${id}`, { headers: { authorization: `Bearer ${KEY}` } }), { params: Promise.resolve({ id }) });
          if (res.status === 200) {
            const alert = await res.json();
            if (alert.last_violation_at >= time) {
              alertLatency.push(performance.now() - sentAt);
              if (!stored) storeLatency.push(performance.now() - sentAt);
              return;
            }
          }
          if (performance.now() - sentAt > 30_000) throw new Error(`alert for ${eventId} not visible after 30 s`);
          await new Promise((r) => setTimeout(r, 10));
        }
      })(),
    );
    await new Promise((r) => setTimeout(r, 300));
  }
  await Promise.all(pending);
  await new Promise((r) => load.once("exit", r));
  const lag = await queryRows<{ n: number }>(store().reader, "bench", "SELECT count() AS n FROM events");
  const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(0)} ms, p95 ${percentile(xs, 95).toFixed(0)} ms, p99 ${percentile(xs, 99).toFixed(0)} ms`;
  console.log(`\nbench:detect — ${INJECTIONS} offending actions over ${agents.length} revoked agents, background load ${loadReport.trim()} (target ${RATE}/s), ${lag[0].n} events stored`);
  console.log(`produce → stored in ClickHouse (reference):      ${fmt(storeLatency)}`);
  console.log(`produce → alert updated, read through the API:  ${fmt(alertLatency)}`);
  console.log(`produce → signed webhook received:            ${fmt(webhookLatency)}`);
  console.log(`ratio alert p99 / stored p99: ${(percentile(alertLatency, 99) / percentile(storeLatency, 99)).toFixed(2)}, webhook p99 / stored p99: ${(percentile(webhookLatency, 99) / percentile(storeLatency, 99)).toFixed(2)}`);
  console.log(`targets: alert p99 ≤ 1,000 ms, webhook p99 ≤ 1,500 ms`);
  receiver.close();
  await worker.stop();
  await producer.disconnect();
  await closeStore();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
