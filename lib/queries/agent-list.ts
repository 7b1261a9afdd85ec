/**
 * The agents list (last seen, pipelines, revoked?, containment), filtered, sorted and paged
 * inside ClickHouse. Per-agent revocation state is a join of the agent summaries against
 * the revocation summaries detection keeps (revocation_status): nothing loads every agent
 * or every revocation into the process, and the full row is finished only for the page.
 *
 * The rules (kept from the in-process version this replaces, docs/SEMANTICS.md item 12 for
 * the order): a revocation touches an agent when the agent has post-revocation actions under
 * it (revocation_status.agents), or the revocation names the agent (scope agent) or one of
 * its pipelines (scope pipeline). The agent is revoked while one that names it has no
 * reinstatement; its containment is the worst over the revocations it has actions under.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import type { Containment } from "../detection/types";
import { badCursor, decodeCursor, page, type CursorKey } from "../http/cursor";
import { boolParam, cursorParam, idParam, limitParam } from "../http/params";
import { queryRows } from "../store/clickhouse";
import { Conditions } from "./conditions";

export interface AgentListItem {
  agent_id: string;
  first_seen: string;
  last_seen: string;
  event_count: number;
  pipelines: string[];
  layers: string[];
  session_count: number;
  revoked: boolean;
  containment: Containment | null;
  violation_count: number;
  revocation_ids: string[];
}

/** GET /api/v1/agents: parsed by the route, typed by the UI hook (components/data/agents.ts). */
export const agentListQuery = z.object({
  q: z.string().max(256).optional(),
  pipeline_id: idParam.optional(),
  revoked: boolParam.optional(),
  containment: z.enum(["contained", "partial", "uncontained"]).optional(),
  sort: z.enum(["last_seen", "agent_id", "violation_count", "event_count"]).default("last_seen"),
  limit: limitParam(100),
  cursor: cursorParam,
});
export type AgentFilters = Omit<z.output<typeof agentListQuery>, "limit" | "cursor">;
export type AgentSort = AgentFilters["sort"];

/** Containment as a rank that max() can take (0: none), and back. */
export const rankOf = (col: string) => `multiIf(${col} = 'uncontained', 3, ${col} = 'partial', 2, ${col} = 'contained', 1, 0)`;
export const containmentOfRank = (col: string) => `multiIf(${col} = 3, 'uncontained', ${col} = 2, 'partial', ${col} = 1, 'contained', NULL)`;

/**
 * (agent, revocation) for every revocation touching an agent, with whether the agent has
 * actions under it (in_agents) and whether it names the agent or its pipeline (names).
 * Pipeline membership comes from agent_summary's raw rows: no aggregation needed for a join.
 * With `only`, just the agents in the array parameter {ids:Array(String)}.
 */
function touchingSql(only: boolean): string {
  const ids = (col: string) => (only ? `AND ${col} IN {ids:Array(String)}` : "");
  return `
  SELECT agent_id, event_id, any(time) AS time, any(open) AS open, any(rank) AS rank, max(in_agents) AS in_agents, max(names) AS names
  FROM (
    SELECT agent_id, event_id, time, open, rank, 1 AS in_agents, 0 AS names
    FROM (SELECT arrayJoin(agents) AS agent_id, event_id, time, isNull(reinstated_at) AS open, ${rankOf("containment")} AS rank
          FROM revocation_status FINAL ${only ? "WHERE hasAny(agents, {ids:Array(String)})" : ""})
    WHERE 1 ${ids("agent_id")}
    UNION ALL
    SELECT subject AS agent_id, event_id, time, isNull(reinstated_at) AS open, ${rankOf("containment")} AS rank, 0 AS in_agents, 1 AS names
    FROM revocation_status FINAL WHERE scope = 'agent' ${ids("subject")}
    UNION ALL
    SELECT m.agent_id AS agent_id, r.event_id AS event_id, r.time AS time, isNull(r.reinstated_at) AS open, ${rankOf("r.containment")} AS rank,
           0 AS in_agents, 1 AS names
    FROM (SELECT event_id, time, reinstated_at, containment, subject FROM revocation_status FINAL WHERE scope = 'pipeline') AS r
    INNER JOIN (SELECT DISTINCT agent_id, pipeline_id FROM agent_summary ARRAY JOIN pipelines AS pipeline_id WHERE 1 ${ids("agent_id")}) AS m
      ON m.pipeline_id = r.subject
  )
  GROUP BY agent_id, event_id`;
}

/** Per-agent revocation state; revocation_ids newest first, like the revocations list. */
const stateSql = (only: boolean) => `
  SELECT agent_id, max(names AND open) AS revoked, maxIf(rank, in_agents = 1) AS rank,
         arrayMap(x -> x.2, arrayReverseSort(groupArray((time, event_id)))) AS revocation_ids
  FROM (${touchingSql(only)})
  GROUP BY agent_id`;

/**
 * Violations per agent from detection's counters (lib/store/migrations/020_coverage.sql), in
 * each revocation's readable generation (lib/detection/state.ts, readGeneration): a few rows
 * per (revocation, agent), where counting pairs would merge every pair under FINAL. A
 * revocation never derived yet reads its write generation, or the one before once a rewrite
 * moved it on (readGeneration then keeps what was published until the derivation commits).
 */
const violationsSql = (only: boolean) => `
  SELECT c.agent_id AS agent_id, sum(c.violations) AS n
  FROM revocation_counters AS c
  LEFT JOIN (SELECT revocation_id, if(pending = 1 AND generation = 0, if(write_generation > 1, write_generation - 1, write_generation), generation) AS generation
             FROM revocation_state FINAL) AS g
    ON g.revocation_id = c.revocation_id
  -- (a revocation without state, as in data written before detection kept it, reads generation 0)
  WHERE c.generation = g.generation AND c.violations > 0 ${only ? "AND c.agent_id IN {ids:Array(String)}" : ""}
  GROUP BY c.agent_id`;

/** Every field of the list rows of the agents in {ids:Array(String)}. */
const ITEMS_SQL = `
  SELECT s.agent_id AS agent_id, s.first_seen AS first_seen, s.last_seen AS last_seen, s.event_count AS event_count,
         s.pipelines AS pipelines, s.layers AS layers, s.session_count AS session_count,
         toBool(st.revoked) AS revoked, ${containmentOfRank("st.rank")} AS containment, st.revocation_ids AS revocation_ids,
         v.n AS violation_count
  FROM (
    SELECT agent_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(event_count) AS event_count,
           arraySort(groupUniqArrayArray(pipelines)) AS pipelines, arraySort(groupUniqArrayArray(layers)) AS layers,
           uniqMerge(sessions) AS session_count
    FROM agent_summary WHERE agent_id IN {ids:Array(String)} GROUP BY agent_id
  ) AS s
  LEFT JOIN (${stateSql(true)}) AS st ON st.agent_id = s.agent_id
  LEFT JOIN (${violationsSql(true)}) AS v ON v.agent_id = s.agent_id
  -- Under FINAL, post_revocation_actions' agent bloom index costs more than it skips
  -- (measured: 101 agents, 300k pairs, 20 ms with it, 7 ms without).
  SETTINGS use_skip_indexes_if_final = 0`;

const SORT_COLUMN: Record<AgentSort, string> = { last_seen: "last_seen", agent_id: "agent_id", violation_count: "violation_count", event_count: "event_count" };

/** The cursor's sort value for a row: what the next page continues after. */
function cursorKey(sort: AgentSort, a: AgentListItem): CursorKey {
  const t = sort === "agent_id" ? a.agent_id : sort === "last_seen" ? a.last_seen : String(a[sort]);
  return { t, id: a.agent_id };
}

/** Rows strictly after the cursor in the list's order (descending but for agent_id). */
function after(c: Conditions, sort: AgentSort, cursor: CursorKey | null): Conditions {
  if (!cursor) return c;
  if (sort === "agent_id") return c.add("agent_id > {c_id:String}", { c_id: cursor.id });
  if (sort === "last_seen") return c.before("last_seen", "agent_id", cursor);
  if (!/^\d{1,20}$/.test(cursor.t)) throw badCursor();
  return c.add(`(${SORT_COLUMN[sort]}, agent_id) < ({c_n:UInt64}, {c_id:String})`, { c_n: cursor.t, c_id: cursor.id });
}

/**
 * The ids of one page, in order. Only what the filters and the sort need is computed for
 * every agent (finishing the summaries' session counts and arrays for 20,000 agents costs
 * more than all the rest): the revocation state only when filtering on it, the violation
 * counts only when sorting by them.
 */
async function pageIds(client: ClickHouseClient, f: AgentFilters, cursor: CursorKey | null, limit: number): Promise<string[]> {
  const inner = new Conditions().search(["agent_id"], f.q);
  const groups = new Conditions();
  if (f.pipeline_id) groups.add("has(groupUniqArrayArray(pipelines), {pipeline_id:String})", { pipeline_id: f.pipeline_id });
  const outer = new Conditions().equals(f, ["containment"]);
  const withState = f.revoked !== undefined || f.containment !== undefined;
  if (f.revoked !== undefined) outer.add("revoked = {revoked:Bool}", { revoked: f.revoked });
  after(outer, f.sort, cursor);
  const dir = f.sort === "agent_id" ? "ASC" : "DESC";
  const rows = await queryRows<{ agent_id: string }>(
    client,
    "api:agents:page",
    `SELECT agent_id FROM (
       SELECT s.agent_id AS agent_id, s.last_seen AS last_seen, s.event_count AS event_count
              ${withState ? `, toBool(st.revoked) AS revoked, ${containmentOfRank("st.rank")} AS containment` : ""}
              ${f.sort === "violation_count" ? ", v.n AS violation_count" : ""}
       FROM (SELECT agent_id, max(last_seen) AS last_seen, sum(event_count) AS event_count FROM agent_summary ${inner.where} GROUP BY agent_id ${groups.having}) AS s
       ${withState ? `LEFT JOIN (${stateSql(false)}) AS st ON st.agent_id = s.agent_id` : ""}
       ${f.sort === "violation_count" ? `LEFT JOIN (${violationsSql(false)}) AS v ON v.agent_id = s.agent_id` : ""}
     ) ${outer.where}
     ORDER BY ${SORT_COLUMN[f.sort]} ${dir}, agent_id ${dir} LIMIT {limit:UInt32}`,
    { ...inner.params, ...groups.params, ...outer.params, limit },
  );
  return rows.map((r) => r.agent_id);
}

/** The list rows of these agents, in the order given (unknown agents are left out). */
async function items(client: ClickHouseClient, comment: string, ids: string[]): Promise<AgentListItem[]> {
  if (!ids.length) return [];
  const rows = await queryRows<AgentListItem>(client, comment, ITEMS_SQL, { ids });
  const byId = new Map(rows.map((r) => [r.agent_id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

export async function listAgents(client: ClickHouseClient, f: AgentFilters, cursor: string | undefined, limit: number) {
  const ids = await pageIds(client, f, decodeCursor(cursor), limit + 1);
  return page(await items(client, "api:agents", ids), limit, (a) => cursorKey(f.sort, a));
}

/** One agent's list item (the agent page's header), or null when the agent was never seen. */
export async function agentListItem(client: ClickHouseClient, agentId: string): Promise<AgentListItem | null> {
  const [row] = await items(client, "api:agent", [agentId]);
  return row ?? null;
}
