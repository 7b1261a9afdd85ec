import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratedStore } from "../helpers/store";
import { queryRows, type Store } from "@/lib/store/clickhouse";
import { listAgents, type AgentFilters, type AgentListItem, type AgentSort } from "@/lib/queries/agents";
import { listPipelines, type PipelineListItem } from "@/lib/queries/pipelines";
import { allRevocations, worstContainment, type RevocationRow } from "@/lib/queries/revocations";
import type { Containment } from "@/lib/detection/types";

/**
 * The agents and pipelines lists are computed in ClickHouse. The judge is the rule they had
 * when they were computed in the process (kept below as the oracle, fed the same stored rows):
 * every agent's revoked?, containment, revocation ids and violations, and the order and
 * pages of every sort and filter, must agree with it.
 */

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const CONTAINMENTS: Containment[] = ["contained", "partial", "uncontained"];
const T0 = Date.UTC(2026, 5, 1);
const iso = (ms: number) => new Date(ms).toISOString();

async function seed(s: Store) {
  const rand = seeded(42);
  const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const agents = Array.from({ length: 60 }, (_, i) => `agent-${String(i).padStart(2, "0")}`);
  const pipelines = Array.from({ length: 8 }, (_, i) => `pipe-${i}`);
  const events: Record<string, unknown>[] = [];
  agents.forEach((agent, i) => {
    // Ties on purpose: agents sharing their last event time and their event count.
    const n = 1 + (i % 5);
    const last = T0 + (i % 7) * 60_000;
    const homes = i % 4 === 0 ? [pipelines[i % 8], pipelines[(i + 3) % 8]] : i % 9 === 0 ? [] : [pipelines[i % 8]];
    for (let k = 0; k < n; k++) {
      events.push({
        event_id: `e-${agent}-${k}`, type: "action", time: iso(last - k * 1000), agent_id: agent,
        pipeline_id: homes.length ? homes[k % homes.length] : "", session_id: `s-${agent}-${k % 2}`, layer: pick(["gateway", "tool", "saas"]),
      });
    }
  });
  await s.writer.insert({ table: "events", values: events, format: "JSONEachRow", clickhouse_settings: { async_insert: 0 } });

  const revocations: Record<string, unknown>[] = [];
  for (let r = 0; r < 45; r++) {
    const scope = pick(["agent", "agent", "pipeline", "credential"]);
    const subject = scope === "agent" ? pick(agents) : scope === "pipeline" ? pick([...pipelines, "pipe-unseen"]) : `cred-${r}`;
    const withActions = agents.filter(() => rand() < 0.06);
    const row = {
      event_id: `rev-${String(r).padStart(2, "0")}`, version: 2, time: iso(T0 - (r % 10) * 3600_000), scope, subject,
      reinstated_at: rand() < 0.3 ? iso(T0 + 3600_000) : null, containment: pick(CONTAINMENTS),
      violation_count: Math.floor(rand() * 4), blocked_count: Math.floor(rand() * 3), agents: withActions,
      pipelines: [...new Set(withActions.flatMap((a) => (Number(a.slice(6)) % 9 === 0 ? [] : [pipelines[Number(a.slice(6)) % 8]])))],
      evaluated_at: iso(T0),
    };
    // An older version with other values: only the latest may count (FINAL).
    revocations.push({ ...row, version: 1, containment: "uncontained", reinstated_at: null, agents: agents.slice(0, 5), violation_count: 99 }, row);
  }
  await s.writer.insert({ table: "revocation_status", values: revocations, format: "JSONEachRow", clickhouse_settings: { async_insert: 0 } });

  // Pairs as detection writes them (lib/detection/derivation.ts): a first generation, then a
  // derivation from scratch that rewrote the pairs it still finds in generation 2 and
  // tombstoned the others (withdrawn: they count for nothing). Readers use generation 2.
  const pairs: Record<string, unknown>[] = [];
  const rewritten: Record<string, unknown>[] = [];
  const states: Record<string, unknown>[] = [];
  for (const r of revocations.filter((x) => x.version === 2)) {
    states.push({ revocation_id: r.event_id, scope: r.scope, subject: r.subject, revoked_at: r.time, generation: 2, write_generation: 2, pending: 0, version: 1 });
    for (const agent of r.agents as string[]) {
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) {
        const pair = { revocation_id: r.event_id, event_id: `e-${agent}-${k}`, version: 1, generation: 1, is_deleted: 0, violation: rand() < 0.7, via: "direct", time: iso(T0), agent_id: agent, layer: "tool" };
        pairs.push(pair);
        if (rand() < 0.15) rewritten.push({ ...pair, version: 2, is_deleted: 1 });
        else rewritten.push({ ...pair, version: 2, generation: 2 });
      }
    }
  }
  for (const values of [pairs, rewritten]) {
    await s.writer.insert({ table: "post_revocation_actions", values, format: "JSONEachRow", clickhouse_settings: { async_insert: 0 } });
  }
  await s.writer.insert({ table: "revocation_state", values: states, format: "JSONEachRow", clickhouse_settings: { async_insert: 0 } });
}

/** The rule as it was computed in the process before (one pass over every agent × revocation). */
async function oracleAgents(s: Store): Promise<AgentListItem[]> {
  type Summary = Omit<AgentListItem, "revoked" | "containment" | "violation_count" | "revocation_ids">;
  const summaries = await queryRows<Summary>(s.writer, "test",
    `SELECT agent_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(event_count) AS event_count,
            arraySort(groupUniqArrayArray(pipelines)) AS pipelines, arraySort(groupUniqArrayArray(layers)) AS layers, uniqMerge(sessions) AS session_count
     FROM agent_summary GROUP BY agent_id`);
  const revocations: RevocationRow[] = await allRevocations(s.writer);
  const violations = new Map(
    (await queryRows<{ agent_id: string; n: number }>(s.writer, "test", "SELECT agent_id, count() AS n FROM post_revocation_actions FINAL WHERE violation GROUP BY agent_id")).map((r) => [r.agent_id, Number(r.n)]),
  );
  return summaries.map((a) => {
    const names = (r: RevocationRow) => (r.scope === "agent" && r.subject === a.agent_id) || (r.scope === "pipeline" && a.pipelines.includes(r.subject));
    const touching = revocations.filter((r) => r.agents.includes(a.agent_id) || names(r));
    return {
      ...a,
      event_count: Number(a.event_count),
      session_count: Number(a.session_count),
      revoked: touching.some((r) => r.reinstated_at === null && names(r)),
      containment: worstContainment(touching.filter((r) => r.agents.includes(a.agent_id)).map((r) => r.containment)),
      revocation_ids: touching.map((r) => r.event_id),
      violation_count: violations.get(a.agent_id) ?? 0,
    };
  });
}

function oracleOrder(items: AgentListItem[], f: AgentFilters): AgentListItem[] {
  let out = items;
  if (f.q) out = out.filter((a) => a.agent_id.toLowerCase().includes(f.q!.toLowerCase()));
  if (f.pipeline_id) out = out.filter((a) => a.pipelines.includes(f.pipeline_id!));
  if (f.revoked !== undefined) out = out.filter((a) => a.revoked === f.revoked);
  if (f.containment) out = out.filter((a) => a.containment === f.containment);
  const key = (a: AgentListItem): string | number => (f.sort === "agent_id" ? a.agent_id : f.sort === "last_seen" ? a.last_seen : a[f.sort]);
  const desc = f.sort === "agent_id" ? 1 : -1;
  return [...out].sort((a, b) => {
    const ka = key(a), kb = key(b);
    const c = ka < kb ? -1 : ka > kb ? 1 : a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0;
    return c * desc;
  });
}

async function allPages<T>(fetch: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const p = await fetch(cursor);
    out.push(...p.items);
    if (!p.next_cursor) return out;
    cursor = p.next_cursor;
  }
  throw new Error("more than 100 pages");
}

describe("agents and pipelines lists computed in ClickHouse", () => {
  let s: Store;
  let oracle: AgentListItem[];
  beforeAll(async () => {
    s = await migratedStore("lists");
    await seed(s);
    oracle = await oracleAgents(s);
  });
  afterAll(async () => s.close());

  it("gives every agent the revoked?, containment, revocations and violations of the in-process rule", async () => {
    // Sanity: the fixture exercises every branch of the rule.
    expect(oracle.some((a) => a.revoked)).toBe(true);
    expect(oracle.some((a) => !a.revoked && a.revocation_ids.length > 0)).toBe(true);
    expect(new Set(oracle.map((a) => a.containment))).toEqual(new Set([null, ...CONTAINMENTS]));
    const { items, next_cursor } = await listAgents(s.reader, { sort: "agent_id" }, undefined, 1000);
    expect(next_cursor).toBeNull();
    expect(items).toEqual(oracleOrder(oracle, { sort: "agent_id" }));
  });

  const sorts: AgentSort[] = ["last_seen", "agent_id", "violation_count", "event_count"];
  const filters: Omit<AgentFilters, "sort">[] = [{}, { revoked: true }, { revoked: false }, { containment: "partial" }, { containment: "uncontained", revoked: true }, { pipeline_id: "pipe-3" }, { q: "AGENT-1" }];
  it.each(sorts)("pages through every filter sorted by %s in the same order as the rule, with no row twice or missing", async (sort) => {
    for (const filter of filters) {
      const f = { ...filter, sort };
      const want = oracleOrder(oracle, f).map((a) => a.agent_id);
      const got = await allPages((cursor) => listAgents(s.reader, f, cursor, 7));
      expect(got.map((a) => a.agent_id), JSON.stringify(f)).toEqual(want);
    }
  });

  it("lists pipelines with the revocations, violations and containment of the in-process rule, in pages", async () => {
    const revocations = await allRevocations(s.writer);
    const members = new Map<string, string[]>();
    for (const a of oracle) for (const p of a.pipelines) members.set(p, [...(members.get(p) ?? []), a.agent_id]);
    const want: PipelineListItem[] = [...members.entries()].map(([pipeline_id, agents]) => {
      const touching = revocations.filter((r) => r.pipelines.includes(pipeline_id) || (r.scope === "pipeline" && r.subject === pipeline_id));
      return {
        pipeline_id,
        agents: agents.sort(),
        last_seen: oracle.filter((a) => agents.includes(a.agent_id)).map((a) => a.last_seen).sort().at(-1)!,
        revocation_count: touching.length,
        violation_count: touching.reduce((n, r) => n + Number(r.violation_count), 0),
        containment: worstContainment(touching.filter((r) => r.violation_count + r.blocked_count > 0).map((r) => r.containment)),
      };
    });
    want.sort((a, b) => (a.last_seen === b.last_seen ? (a.pipeline_id < b.pipeline_id ? 1 : -1) : a.last_seen < b.last_seen ? 1 : -1));
    expect(want.some((p) => p.containment !== null && p.revocation_count > 1)).toBe(true);
    expect(await allPages((cursor) => listPipelines(s.reader, undefined, cursor, 3))).toEqual(want);
    expect((await listPipelines(s.reader, "PIPE-2", undefined, 100)).items.map((p) => p.pipeline_id)).toEqual(["pipe-2"]);
  });
});
