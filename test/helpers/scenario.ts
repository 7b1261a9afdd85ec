/**
 * A seeded random scenario in the wire format (schema v1): pipelines of agents with
 * sessions, delegated credentials several levels deep, a copied credential, revocations
 * of every scope (some without cascade), reinstatements, and actions spread around the
 * revocation times, some exactly on a window's boundary.
 */
export type WireEvent = Record<string, unknown> & { event_id: string; type: string; time: string };

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(xs: T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const LAYERS = ["gateway", "tool", "saas", "secret_store"];
const ACTIONS = ["execute_tool", "http.request", "secret.read", "data.export", "crm.read"];
const SENSITIVITY = [undefined, "low", "medium", "high", "critical"];

export function buildScenario(seed: number, opts: { actions?: number; prefix?: string } = {}): WireEvent[] {
  const rand = seededRandom(seed);
  const pick = <T,>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const px = opts.prefix ?? `s${seed}`;
  const T0 = Date.UTC(2026, 9, 1, 12, 0, 0);
  const at = (ms: number) => new Date(T0 + ms).toISOString();
  let n = 0;
  const eid = (kind: string) => `${px}-${kind}-${++n}`;
  const events: WireEvent[] = [];

  const agents = Array.from({ length: 6 }, (_, i) => ({
    id: `${px}-agent-${i}`,
    pipeline: `${px}-pipe-${i < 3 ? "a" : "b"}`,
    sessions: [`${px}-sess-${i}-1`, `${px}-sess-${i}-2`],
    credentials: [] as string[],
  }));
  // Root credentials, then a delegation chain agent0 → agent1 → agent2 (depth 3), and agent4 derived from agent3.
  const issue = (agentIdx: number, cred: string, parent: string | undefined, timeMs: number) => {
    const a = agents[agentIdx];
    a.credentials.push(cred);
    events.push({
      event_id: eid("iss"), type: "credential_issued", time: at(timeMs), agent_id: a.id, pipeline_id: a.pipeline,
      session_id: a.sessions[0], credential: { id: cred, kind: parent ? "oauth_token" : "api_key", ...(parent ? { parent_id: parent } : {}) },
    });
  };
  issue(0, `${px}-cred-0`, undefined, -60_000);
  issue(1, `${px}-cred-1`, `${px}-cred-0`, -50_000);
  // Issued after the revocations below: cascade must still reach it.
  issue(2, `${px}-cred-2`, `${px}-cred-1`, 40_000);
  issue(3, `${px}-cred-3`, undefined, -60_000);
  issue(4, `${px}-cred-4`, `${px}-cred-3`, -30_000);
  issue(5, `${px}-cred-5`, undefined, -60_000);
  // A copied secret: agent 5 also holds agent 3's key.
  agents[5].credentials.push(`${px}-cred-3`);

  const revocationTimes: number[] = [];
  const scopes = ["agent", "session", "credential", "pipeline"] as const;
  for (let i = 0; i < 5; i++) {
    const scope = scopes[i % 4];
    const a = pick(agents);
    const subject = scope === "agent" ? a.id : scope === "session" ? a.sessions[0] : scope === "credential" ? pick(a.credentials) : a.pipeline;
    const time = Math.floor(rand() * 60_000);
    revocationTimes.push(time);
    events.push({
      event_id: eid("rev"), type: "revocation", time: at(time),
      revocation: { scope, subject, reason: "test", cascade: rand() < 0.75, initiated_by: "tester" },
    });
    if (rand() < 0.4) {
      const until = time + 5_000 + Math.floor(rand() * 40_000);
      events.push({ event_id: eid("rein"), type: "reinstatement", time: at(until), revocation: { scope, subject } });
      revocationTimes.push(until);
    }
  }
  // A reinstatement before any revocation of its subject: must not end anything.
  events.push({ event_id: eid("rein"), type: "reinstatement", time: at(-1_000), revocation: { scope: "agent", subject: agents[0].id } });

  const count = opts.actions ?? 200;
  for (let i = 0; i < count; i++) {
    const a = pick(agents);
    // A fifth of actions land exactly on a revocation or reinstatement instant, or 1 ms after.
    const time = rand() < 0.2 ? pick(revocationTimes) + (rand() < 0.5 ? 0 : 1) : Math.floor(rand() * 120_000) - 10_000;
    const cred = a.credentials.length && rand() < 0.9 ? pick(a.credentials) : undefined;
    const decision = pick(["allow", "deny", "unknown", undefined] as const);
    events.push({
      event_id: eid("act"), type: "action", time: at(time), agent_id: a.id, pipeline_id: a.pipeline, session_id: pick(a.sessions),
      ...(cred ? { credential_id: cred } : {}), layer: pick(LAYERS), action: pick(ACTIONS), resource: `res-${i % 7}`,
      ...(decision ? { decision } : {}), ...(() => { const s = pick(SENSITIVITY); return s ? { sensitivity: s } : {}; })(),
    });
  }
  return events;
}
