/**
 * bench:scale's data: a week of incident-shaped telemetry, generated deterministically from a
 * seed, as pre-serialised Kafka messages keyed by agent, in the order they are produced.
 *
 * 20,000 agents in 400 pipelines, each with a root credential issued before the week. About
 * 4,500 revocations (scope agent or credential) spread over the week; a quarter of the revoked
 * root credentials have a delegated child credential, issued to a sub-agent that keeps using it
 * after the revocation (a cascade leak). Revoked agents are mostly denied at the gateway, but on
 * some of them one layer leaks (allow). About 10% of the revocations are reinstated, some of the
 * reinstatements arriving late; some revocations arrive late too (produced an hour of event time
 * after their own time). Actions are the same, event for event, with and without the control events.
 */
// The seeded PRNG of the tests' scenarios (mulberry32): the same sequence on every run for a seed.
import { seededRandom as rng } from "../test/helpers/scenario";

export interface ScaleSizes {
  events: number;
  agents: number;
  pipelines: number;
  revocations: number;
  /** Last event time of the week (epoch ms); the week ends here. */
  endMs: number;
  seed: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const LAYERS = ["gateway", "tool", "saas", "secret_store"] as const;
const ACTIONS = ["execute_tool", "execute_tool", "read_file", "http.request", "query_db", "secret.read", "data.export"];

export function sizesFromEnv(env: NodeJS.ProcessEnv = process.env): ScaleSizes {
  const events = Number(env.BENCH_EVENTS ?? 5_000_000);
  return {
    events,
    agents: Number(env.BENCH_AGENTS ?? 20_000),
    pipelines: Number(env.BENCH_PIPELINES ?? 400),
    revocations: Number(env.BENCH_REVOCATIONS ?? 4_500),
    endMs: Number(env.BENCH_SCALE_END_MS ?? Math.floor(Date.now() / 1000) * 1000 - 2 * HOUR),
    seed: Number(env.BENCH_SEED ?? 42),
  };
}

/** The seeded PRNG the tests' scenarios use (mulberry32): the same sequence on every run for a seed. */
export { seededRandom as rng } from "../test/helpers/scenario";

export const agentId = (i: number, pipelines: number) => `spiffe://incident.example/pipeline-${i % pipelines}/agent-${i}`;
export const pipelineId = (i: number, pipelines: number) => `pipeline-${i % pipelines}`;
export const rootCredential = (i: number) => `cred-${i}`;
export const subAgentId = (i: number, pipelines: number) => `${agentId(i, pipelines)}/sub-1`;
export const childCredential = (i: number) => `cred-${i}-child`;

export interface PlannedRevocation {
  index: number;
  id: string;
  agent: number;
  scope: "agent" | "credential";
  subject: string;
  at: number;
  /** Produced at this event time: `at`, or an hour later for a late revocation. */
  producedAt: number;
  /** The layer that lets the revoked agent through (allow), or null when every layer denies. */
  leakLayer: string | null;
  /** The delegated child credential's issue time, when the root credential has one. */
  childIssuedAt: number | null;
  reinstatedAt: number | null;
  reinstatementProducedAt: number | null;
}

export interface Plan {
  sizes: ScaleSizes;
  start: number;
  end: number;
  revocations: PlannedRevocation[];
  /** Agent index → its revocation. */
  byAgent: Map<number, PlannedRevocation>;
}

export function plan(sizes: ScaleSizes): Plan {
  const end = sizes.endMs;
  const start = end - 7 * DAY;
  const r = rng(sizes.seed + 1);
  const n = Math.min(sizes.revocations, sizes.agents);
  // Partial Fisher–Yates: n distinct revoked agents.
  const order = Array.from({ length: sizes.agents }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(r() * (sizes.agents - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const revocations: PlannedRevocation[] = [];
  for (let k = 0; k < n; k++) {
    const agent = order[k];
    const at = Math.floor(start + 2 * HOUR + r() * (end - start - 4 * HOUR));
    const late = r() < 0.1;
    const leaks = r() < 0.35;
    const leakLayer = leaks ? LAYERS[1 + Math.floor(r() * 3)] : null;
    const child = k % 4 === 0;
    const childIssuedAt = child ? Math.max(start, Math.floor(at - 10 * 60_000 - r() * DAY)) : null;
    const reinstated = r() < 0.1;
    const reinstatedAt = reinstated ? Math.min(end - 1, Math.floor(at + 10 * 60_000 + r() * 6 * HOUR)) : null;
    const lateReinstatement = reinstated && r() < 0.4;
    revocations.push({
      index: k,
      id: `scale-rev-${k}`,
      agent,
      scope: r() < 0.6 ? "agent" : "credential",
      subject: "",
      at,
      producedAt: late ? at + HOUR : at,
      leakLayer,
      childIssuedAt,
      reinstatedAt,
      reinstatementProducedAt: reinstatedAt === null ? null : lateReinstatement ? reinstatedAt + HOUR : reinstatedAt,
    });
  }
  for (const v of revocations) v.subject = v.scope === "agent" ? agentId(v.agent, sizes.pipelines) : rootCredential(v.agent);
  return { sizes, start, end, revocations, byAgent: new Map(revocations.map((v) => [v.agent, v])) };
}

export interface Message {
  key: string;
  value: string;
}

interface Control {
  producedAt: number;
  message: Message;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Every control event (credentials, revocations, reinstatements) with its position in the stream. */
function controlEvents(p: Plan): Control[] {
  const { agents, pipelines } = p.sizes;
  const out: Control[] = [];
  for (let i = 0; i < agents; i++) {
    const at = p.start - HOUR + Math.floor((i * HOUR) / agents);
    const a = agentId(i, pipelines);
    const value = `{"event_id":"scale-cred-${i}","type":"credential_issued","time":"${iso(at)}","agent_id":"${a}","pipeline_id":"${pipelineId(i, pipelines)}","credential":{"id":"${rootCredential(i)}","kind":"oauth_token"}}`;
    out.push({ producedAt: at, message: { key: a, value } });
  }
  for (const v of p.revocations) {
    const a = agentId(v.agent, pipelines);
    if (v.childIssuedAt !== null) {
      const sub = subAgentId(v.agent, pipelines);
      const value = `{"event_id":"scale-child-${v.agent}","type":"credential_issued","time":"${iso(v.childIssuedAt)}","agent_id":"${sub}","pipeline_id":"${pipelineId(v.agent, pipelines)}","credential":{"id":"${childCredential(v.agent)}","kind":"delegated","parent_id":"${rootCredential(v.agent)}"}}`;
      out.push({ producedAt: v.childIssuedAt, message: { key: sub, value } });
    }
    const rev = `{"scope":"${v.scope}","subject":"${v.subject}","reason":"incident response","cascade":true,"initiated_by":"soc@incident.example"}`;
    out.push({ producedAt: v.producedAt, message: { key: a, value: `{"event_id":"${v.id}","type":"revocation","time":"${iso(v.at)}","revocation":${rev}}` } });
    if (v.reinstatedAt !== null) {
      const value = `{"event_id":"${v.id}-reinstated","type":"reinstatement","time":"${iso(v.reinstatedAt)}","revocation":${rev}}`;
      out.push({ producedAt: v.reinstatementProducedAt!, message: { key: a, value } });
    }
  }
  return out.sort((x, y) => x.producedAt - y.producedAt);
}

/** What detection must find in the week (grace 0): pairs per revocation, direct and cascade. */
export class Expected {
  private readonly counts: Uint32Array;

  constructor(private readonly revocations: number) {
    this.counts = new Uint32Array(revocations * 4);
  }

  count(revocation: number, cascade: boolean, violation: boolean): void {
    this.counts[revocation * 4 + (cascade ? 2 : 0) + (violation ? 0 : 1)]++;
  }

  summary() {
    let pairs = 0, violations = 0, direct = 0, delegated = 0, partial = 0;
    for (let k = 0; k < this.revocations; k++) {
      const [dv, db, cv, cb] = this.counts.subarray(k * 4, k * 4 + 4);
      pairs += dv + db + cv + cb;
      violations += dv + cv;
      if (dv > 0) direct++;
      if (cv > 0) delegated++;
      if (dv + cv > 0 && db + cb > 0) partial++;
    }
    return { pairs, violations, alerts: { post_revocation_activity: direct, delegated_authority_leak: delegated, partial_containment: partial } };
  }
}

/** Whether the revocation's window (R, L] contains t. */
export const inWindow = (v: PlannedRevocation | undefined, t: number) => !!v && t > v.at && (v.reinstatedAt === null || t <= v.reinstatedAt);

/**
 * The stream in production order, in chunks of `chunk` messages: the week's actions in time
 * order, with the control events (when `withControl`) at their position.
 */
export function* stream(p: Plan, withControl: boolean, chunk: number, expected?: Expected): Generator<Message[]> {
  const { events, agents, pipelines, seed } = p.sizes;
  const control = withControl ? controlEvents(p) : [];
  let c = 0;
  const r = rng(seed);
  const span = p.end - p.start;
  let out: Message[] = [];
  for (let k = 0; k < events; k++) {
    const t = p.start + Math.floor((k * span) / events);
    while (c < control.length && control[c].producedAt <= t) {
      out.push(control[c++].message);
      if (out.length >= chunk) {
        yield out;
        out = [];
      }
    }
    const agent = Math.floor(r() * agents);
    const v = p.byAgent.get(agent);
    const asSub = v !== undefined && v.childIssuedAt !== null && t >= v.childIssuedAt && r() < 0.5;
    const layer = LAYERS[Math.floor(r() * LAYERS.length)];
    const noise = r();
    let decision: string;
    if (asSub) decision = noise < 0.05 ? "deny" : "allow"; // nobody told the sub-agent's gateway
    else if (inWindow(v, t)) decision = layer === v!.leakLayer ? "allow" : "deny";
    else decision = noise < 0.04 ? "deny" : "allow";
    const actor = asSub ? subAgentId(agent, pipelines) : agentId(agent, pipelines);
    const credential = asSub ? childCredential(agent) : rootCredential(agent);
    const action = ACTIONS[Math.floor(r() * ACTIONS.length)];
    const sensitivity = action === "secret.read" ? "high" : noise > 0.97 ? "medium" : "low";
    const value =
      `{"event_id":"scale-${seed}-${k}","type":"action","time":"${iso(t)}","agent_id":"${actor}","pipeline_id":"${pipelineId(agent, pipelines)}",` +
      `"session_id":"sess-${agent}-${Math.floor((t - p.start) / (6 * HOUR))}","credential_id":"${credential}","layer":"${layer}",` +
      `"source":"mcp-tools-${k % 3}","action":"${action}","resource":"tool://search/${k % 97}","decision":"${decision}","sensitivity":"${sensitivity}",` +
      `"trace_id":"${(k * 2654435761 >>> 0).toString(16).padStart(8, "0")}${(agent * 40503 >>> 0).toString(16).padStart(8, "0")}"}`;
    out.push({ key: actor, value });
    if (expected && inWindow(v, t)) expected.count(v!.index, asSub, decision !== "deny");
    if (out.length >= chunk) {
      yield out;
      out = [];
    }
  }
  while (c < control.length) out.push(control[c++].message);
  if (out.length) yield out;
}
