/**
 * Demo traffic through Kafka: pipelines of agents doing ordinary work, and every ~25 s an
 * incident — a revocation that some layers enforce (gateway denies) while others keep
 * trusting a cached token (the tool server allows), a delegated sub-agent carrying on
 * with a derived credential, a copied API key used by another agent, and sometimes a
 * reinstatement. Now and then a malformed message shows the dead-letter path.
 *
 *   npx tsx scripts/demo.ts            (started by `npm start` unless --no-demo)
 */
import { randomUUID } from "node:crypto";
import { Partitioners } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka, ensureTopics } from "@/lib/kafka";
import { logger } from "@/lib/log";

type Event = Record<string, unknown> & { event_id: string; type: string; time: string };

const LAYERS = ["gateway", "tool", "saas", "secret_store", "runtime"] as const;
const ACTIONS: Record<string, { action: string; resource: string; sensitivity: string }[]> = {
  gateway: [{ action: "http.request", resource: "https://api.internal/v1/orders", sensitivity: "medium" }],
  tool: [
    { action: "execute_tool", resource: "web_search", sensitivity: "low" },
    { action: "execute_tool", resource: "sql_query", sensitivity: "high" },
  ],
  saas: [
    { action: "crm.read", resource: "salesforce://accounts", sensitivity: "medium" },
    { action: "data.export", resource: "salesforce://contacts.csv", sensitivity: "critical" },
  ],
  secret_store: [{ action: "secret.read", resource: "vault://prod/db-password", sensitivity: "critical" }],
  runtime: [{ action: "process.spawn", resource: "python3", sensitivity: "low" }],
};

interface Agent {
  id: string;
  pipeline: string;
  session: string;
  credential: string;
}

interface Pipeline {
  id: string;
  orchestrator: Agent;
  workers: Agent[];
}

const now = () => new Date().toISOString();
const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];
const id = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

function makePipelines(): Pipeline[] {
  const names = ["invoice-triage", "support-copilot", "code-review", "lead-enrichment"];
  return names.map((name) => {
    const mk = (role: string): Agent => ({
      id: `spiffe://acme.prod/${name}/${role}`,
      pipeline: name,
      session: id("sess"),
      credential: id("tok"),
    });
    return { id: name, orchestrator: mk("orchestrator"), workers: [mk("researcher"), mk("executor")] };
  });
}

function issue(agent: Agent, parent?: string): Event {
  return {
    event_id: id("evt"), type: "credential_issued", time: now(), agent_id: agent.id, pipeline_id: agent.pipeline,
    session_id: agent.session, source: "idp-okta",
    credential: { id: agent.credential, kind: parent ? "oauth_token" : "svid", ...(parent ? { parent_id: parent } : {}) },
  };
}

function act(agent: Agent, layer: string, decision: "allow" | "deny" | "unknown", credential = agent.credential, actor = agent.id): Event {
  const a = pick(ACTIONS[layer]);
  return {
    event_id: id("evt"), type: "action", time: now(), agent_id: actor, pipeline_id: agent.pipeline, session_id: agent.session,
    credential_id: credential, layer, source: `${layer}-${1 + Math.floor(Math.random() * 3)}`, decision, ...a,
    trace_id: randomUUID().replace(/-/g, ""), attributes: { demo: true },
  };
}

async function main() {
  const cfg = config();
  const log = logger().child({ component: "demo" });
  const kafka = createKafka(cfg, "-demo");
  await ensureTopics(kafka, cfg);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const send = async (events: (Event | string)[]) => {
    await producer.send({
      topic: cfg.KAFKA_TOPIC,
      messages: events.map((e) => (typeof e === "string" ? { value: e } : { key: String(e.agent_id ?? ""), value: JSON.stringify(e) })),
    });
  };

  const pipelines = makePipelines();
  for (const p of pipelines) {
    const opening: Event[] = [issue(p.orchestrator)];
    for (const w of p.workers) opening.push(issue(w, p.orchestrator.credential));
    for (const a of [p.orchestrator, ...p.workers]) {
      opening.push({ event_id: id("evt"), type: "session_start", time: now(), agent_id: a.id, pipeline_id: p.id, session_id: a.session });
    }
    await send(opening);
  }
  log.info({ pipelines: pipelines.map((p) => p.id) }, "demo traffic started");

  // Agents whose ordinary traffic is suspended: a revoked agent only does what its incident
  // script says (and nothing at all once it is decommissioned).
  const quarantined = new Set<string>();
  // A fresh credential for an agent, and fresh delegated ones for its sub-agents.
  const reprovision = async (p: Pipeline) => {
    p.orchestrator.credential = id("tok");
    const events = [issue(p.orchestrator)];
    for (const w of p.workers) {
      w.credential = id("tok");
      events.push(issue(w, p.orchestrator.credential));
    }
    await send(events);
  };

  // An incident: revoke something, then let the layers disagree about it for a while.
  const incidents: { until: number; tick: (t: number) => Event[] }[] = [];
  let incidentNo = 0;
  const startIncident = async () => {
    const p = pipelines[incidentNo % pipelines.length];
    const kind = incidentNo % 3; // 0: agent revoked then reinstated, 1: agent revoked for good, 2: credential revoked
    const contained = incidentNo % 4 === 3; // now and then every layer enforces at once
    incidentNo++;
    const target = p.orchestrator;
    const subAgent = p.workers[0];
    const scope = kind === 2 ? "credential" : "agent";
    const revocation: Event = {
      event_id: id("rev"), type: "revocation", time: now(), source: "control-plane",
      revocation: { scope, subject: scope === "agent" ? target.id : target.credential, reason: pick(["prompt injection detected", "anomalous data access", "owner offboarded", "token leaked in logs"]), initiated_by: "soc-analyst@acme.example", cascade: true },
    };
    await send([revocation]);
    log.info({ pipeline: p.id, scope, contained, revocation: revocation.event_id }, "demo incident: revocation");
    for (const a of [target, ...p.workers]) quarantined.add(a.id);
    const copycat: Agent = { id: `spiffe://acme.prod/shadow/${id("worker")}`, pipeline: p.id, session: id("sess"), credential: target.credential };
    const leakyLayer = pick(["tool", "saas"]);
    const started = Date.now();
    const until = started + 15_000;
    incidents.push({
      until,
      tick: (t) => {
        const out: Event[] = [];
        const cacheStillTrusted = !contained && t - started < 10_000;
        // The gateway and the secret store check revocation on every call: blocked attempts.
        if (Math.random() < 0.6) out.push(act(target, "gateway", "deny"));
        if (Math.random() < 0.2) out.push(act(target, "secret_store", "deny"));
        // The tool server (or SaaS connector) trusts its cached bearer token for a while: violations.
        if (Math.random() < 0.5) out.push(act(target, leakyLayer, cacheStillTrusted ? "allow" : "deny"));
        // A sub-agent carries on with its delegated credential where only the token is checked.
        if (Math.random() < 0.4) out.push(act(subAgent, leakyLayer, cacheStillTrusted ? "allow" : "deny"));
        if (Math.random() < 0.2) out.push(act(subAgent, "gateway", "deny"));
        // A copied token presented by another agent.
        if (kind === 1 && !contained && Math.random() < 0.2) out.push(act(copycat, "saas", "unknown", target.credential, copycat.id));
        return out;
      },
    });
    setTimeout(() => {
      void (async () => {
        if (kind === 0) {
          await send([{ event_id: id("rein"), type: "reinstatement", time: now(), source: "control-plane", revocation: { scope, subject: target.id, reason: "investigation closed" } }]);
        } else if (kind === 1) {
          // Decommissioned: the pipeline gets a new orchestrator identity.
          p.orchestrator = { ...target, id: `${target.id.replace(/-v\d+$/, "")}-v${incidentNo + 1}`, session: id("sess") };
        }
        await reprovision(p);
        for (const a of [target, ...p.workers]) quarantined.delete(a.id);
      })();
    }, 20_000);
  };

  let stopping = false;
  const stop = async () => {
    stopping = true;
    await producer.disconnect();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());

  let lastIncident = Date.now() - 20_000; // first incident after ~5 s
  while (!stopping) {
    const t = Date.now();
    const batch: (Event | string)[] = [];
    for (const p of pipelines) {
      for (const a of [p.orchestrator, ...p.workers]) {
        if (!quarantined.has(a.id) && Math.random() < 0.5) batch.push(act(a, pick(LAYERS), Math.random() < 0.05 ? "deny" : "allow"));
      }
    }
    for (const inc of incidents.filter((i) => i.until > t)) batch.push(...inc.tick(t));
    if (Math.random() < 0.01) batch.push('{"event_id": "broken", "type": "action", "time": "yesterday"}');
    if (t - lastIncident > 25_000) {
      lastIncident = t;
      await startIncident();
    }
    if (batch.length) await send(batch);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

main().catch((err) => {
  logger().fatal({ err: (err as Error).message }, "demo generator failed");
  process.exit(1);
});
