/**
 * bench:scale's incident in progress, after the week's history is in: background traffic from
 * a second process (bench/scale-load.ts), and every 200 ms an offending action (allow) of
 * a revoked agent or of a sub-agent still using its delegated credential. Measured: produce →
 * the alert with that violation visible to readers (alerts FINAL, last_violation_at ≥ the
 * action's time, through the API's reader session), polled every 10 ms for all injections at once.
 */
import { spawn } from "node:child_process";
import { Partitioners } from "kafkajs";
import { config } from "@/lib/config";
import { alertId } from "@/lib/detection/alert-id";
import type { DetectionEngine } from "@/lib/detection/engine";
import { createKafka } from "@/lib/kafka";
import { queryRows, store } from "@/lib/store/clickhouse";
import { agentId, childCredential, pipelineId, rootCredential, subAgentId, type Plan } from "./scale-data";
import { RoundPoller } from "./round-poller";
import { percentile, progress, sleep, type Offsets } from "./scale-util";

const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const INJECTIONS = Number(process.env.BENCH_INJECTIONS ?? 100);
const EVERY_MS = 200;
const TIMEOUT_MS = 30_000;
const POLL_MS = 10;

interface Offender {
  agent: string;
  credential: string;
  pipeline: string;
  alert: string;
}

/** Revoked agents and leaking sub-agents whose revocation is still in force, alternating. */
function offenders(p: Plan): Offender[] {
  const pipelines = p.sizes.pipelines;
  const active = p.revocations.filter((v) => v.reinstatedAt === null);
  const direct = active.map((v) => ({
    agent: agentId(v.agent, pipelines),
    credential: rootCredential(v.agent),
    pipeline: pipelineId(v.agent, pipelines),
    alert: alertId("post_revocation_activity", v.id, agentId(v.agent, pipelines)),
  }));
  const cascade = active
    .filter((v) => v.childIssuedAt !== null)
    .map((v) => ({
      agent: subAgentId(v.agent, pipelines),
      credential: childCredential(v.agent),
      pipeline: pipelineId(v.agent, pipelines),
      alert: alertId("delegated_authority_leak", v.id, subAgentId(v.agent, pipelines)),
    }));
  const out: Offender[] = [];
  for (let i = 0; i < Math.max(direct.length, cascade.length); i++) {
    if (direct[i]) out.push(direct[i]);
    if (cascade[i]) out.push(cascade[i]);
  }
  return out;
}

/**
 * Whether injected violations are visible to readers: one query per round for all of them
 * (alerts FINAL by primary key, on the API's reader, bench/round-poller.ts).
 */
async function visibleViolations(waiting: Map<string, { alert: string; time: string }>): Promise<string[]> {
  const alerts = [...new Set([...waiting.values()].map((w) => w.alert))];
  const rows = await queryRows<{ id: string; last: string }>(
    store().reader,
    "bench:scale:alerts",
    "SELECT id, last_violation_at AS last FROM alerts FINAL WHERE id IN {ids:Array(String)}",
    { ids: alerts },
  );
  const latest = new Map(rows.map((r) => [r.id, Date.parse(r.last)]));
  return [...waiting].filter(([, w]) => (latest.get(w.alert) ?? -Infinity) >= Date.parse(w.time)).map(([key]) => key);
}

export async function incident(p: Plan, offsets: Offsets, engine: DetectionEngine) {
  const cfg = config();
  const producer = createKafka(cfg, "-bench-incident").producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const seconds = Math.ceil((INJECTIONS * EVERY_MS) / 1000) + 10;
  const load = spawn(process.execPath, ["--import", "tsx", "bench/scale-load.ts"], {
    env: { ...process.env, RATE: String(RATE), SECONDS: String(seconds) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let loadReport = "";
  load.stdout!.on("data", (d) => (loadReport += d));
  const loadDone = new Promise<void>((r) => load.once("exit", (code) => (code ? progress(`incident: background load exited with code ${code}`) : undefined, r())));
  progress(`incident: background load ${RATE}/s for ${seconds} s, ${INJECTIONS} offending actions every ${EVERY_MS} ms`);
  await sleep(5_000); // let the background load reach its rate

  const who = offenders(p);
  const latency: number[] = [];
  let timeouts = 0;
  const pending: Promise<void>[] = [];
  const visibility = new RoundPoller(visibleViolations, POLL_MS, TIMEOUT_MS);
  for (let i = 0; i < INJECTIONS; i++) {
    const o = who[i % who.length];
    const time = new Date().toISOString();
    const value = JSON.stringify({
      event_id: `scale-incident-${i}`, type: "action", time, agent_id: o.agent, pipeline_id: o.pipeline, credential_id: o.credential,
      layer: "saas", action: "data.export", resource: "s3://exfil/bucket", decision: "allow", sensitivity: "high",
    });
    const sentAt = performance.now();
    await producer.send({ topic: cfg.KAFKA_TOPIC, messages: [{ key: o.agent, value }] });
    pending.push(
      visibility.wait(String(i), { alert: o.alert, time }).then((seenAt) => (seenAt === null ? void timeouts++ : void latency.push(seenAt - sentAt))),
    );
    await sleep(Math.max(0, EVERY_MS - (performance.now() - sentAt)));
  }
  await Promise.all(pending);
  await loadDone;
  await producer.disconnect();
  // The worker keeps up when nothing is left behind once the load has stopped.
  const t0 = performance.now();
  const end = await offsets.end();
  while ((await offsets.committed()) < end && performance.now() - t0 < 60_000) await sleep(100);
  const drainSeconds = (performance.now() - t0) / 1000;
  const lagAfter = end - (await offsets.committed());
  const line = loadReport.split("\n").find((l) => l.startsWith("LOAD_RESULT "));
  const load_ = line ? (JSON.parse(line.slice("LOAD_RESULT ".length)) as { sent: number; seconds: number }) : { sent: 0, seconds: 0 };
  const result = {
    injections: INJECTIONS,
    offenders: who.length,
    measured: latency.length,
    timeouts,
    p50: percentile(latency, 50),
    p95: percentile(latency, 95),
    p99: percentile(latency, 99),
    max: Math.max(...latency),
    backgroundRate: load_.seconds ? load_.sent / load_.seconds : 0,
    drainSeconds,
    lagAfter,
    pendingDerivations: engine.pendingCount(),
  };
  progress(`incident: ${JSON.stringify(result)}`);
  return result;
}
