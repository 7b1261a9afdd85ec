/**
 * Pipelines (docs/API.md): members, the revocations that touched them, containment per
 * agent × layer (enforcing / leaking / silent) and the delegation tree of their credentials.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import type { Containment } from "../detection/types";
import { decodeCursor, page } from "../http/cursor";
import { cursorParam, limitParam } from "../http/params";
import { queryRows } from "../store/clickhouse";
import { containmentOfRank, rankOf } from "./agent-list";
import { credentialsOf } from "./agents";
import { Conditions } from "./conditions";
import { allRevocations, worstContainment } from "./revocations";

export interface PipelineListItem {
  pipeline_id: string;
  agents: string[];
  last_seen: string;
  revocation_count: number;
  violation_count: number;
  containment: Containment | null;
}

/** Per pipeline: the revocations touching it (it had actions under them, or is their subject). */
const PIPELINE_STATE_SQL = `
  SELECT pipeline_id, count() AS revocation_count, sum(violations) AS violation_count, maxIf(rank, violations + blocked > 0) AS rank
  FROM (
    SELECT pipeline_id, event_id, any(violations) AS violations, any(blocked) AS blocked, any(rank) AS rank
    FROM (
      SELECT arrayJoin(pipelines) AS pipeline_id, event_id, violation_count AS violations, blocked_count AS blocked, ${rankOf("containment")} AS rank
      FROM revocation_status FINAL
      UNION ALL
      SELECT subject AS pipeline_id, event_id, violation_count AS violations, blocked_count AS blocked, ${rankOf("containment")} AS rank
      FROM revocation_status FINAL WHERE scope = 'pipeline'
    )
    GROUP BY pipeline_id, event_id
  )
  GROUP BY pipeline_id`;

/** GET /api/v1/pipelines: parsed by the route, typed by the UI hook (components/data/pipelines.ts). */
export const pipelineListQuery = z.object({ q: z.string().max(256).optional(), limit: limitParam(100), cursor: cursorParam });

/**
 * Pipelines newest first (by their members' last activity), filtered and paged in
 * ClickHouse like the agents list (lib/queries/agent-list.ts): members come from
 * agent_summary, revocation counts and containment from revocation_status.
 */
export async function listPipelines(client: ClickHouseClient, q: string | undefined, cursor: string | undefined, limit: number) {
  const inner = new Conditions().search(["pipeline_id"], q);
  const outer = new Conditions().before("last_seen", "pipeline_id", decodeCursor(cursor));
  const rows = await queryRows<PipelineListItem>(
    client,
    "api:pipelines",
    `SELECT * FROM (
       SELECT p.pipeline_id AS pipeline_id, p.agents AS agents, p.last_seen AS last_seen, st.revocation_count AS revocation_count,
              st.violation_count AS violation_count, ${containmentOfRank("st.rank")} AS containment
       FROM (
         SELECT pipeline_id, arraySort(groupUniqArray(agent_id)) AS agents, max(last_seen) AS last_seen
         FROM (SELECT agent_id, max(last_seen) AS last_seen, groupUniqArrayArray(pipelines) AS pipelines FROM agent_summary GROUP BY agent_id)
         ARRAY JOIN pipelines AS pipeline_id
         ${inner.where}
         GROUP BY pipeline_id
       ) AS p
       LEFT JOIN (${PIPELINE_STATE_SQL}) AS st ON st.pipeline_id = p.pipeline_id
     ) ${outer.where}
     ORDER BY last_seen DESC, pipeline_id DESC LIMIT {limit:UInt32}`,
    { ...inner.params, ...outer.params, limit: limit + 1 },
  );
  return page(rows, limit, (p) => ({ t: p.last_seen, id: p.pipeline_id }));
}

export type MatrixStatus = "enforcing" | "leaking" | "silent";

export async function getPipeline(client: ClickHouseClient, pipelineId: string) {
  const members = await queryRows<{ agent_id: string; layers: string[]; last_seen: string; first_seen: string }>(
    client,
    "api:pipeline:members",
    `SELECT agent_id, arraySort(groupUniqArrayArray(layers)) AS layers, max(last_seen) AS last_seen, min(first_seen) AS first_seen
     FROM agent_summary GROUP BY agent_id HAVING has(groupUniqArrayArray(pipelines), {p:String}) ORDER BY first_seen`,
    { p: pipelineId },
  );
  if (!members.length) return null;
  const agentIds = members.map((m) => m.agent_id);
  const [revocations, cells, credentials] = await Promise.all([
    allRevocations(client, { pipeline_id: pipelineId }),
    queryRows<{ agent_id: string; layer: string; violations: number; blocked: number }>(
      client,
      "api:pipeline:matrix",
      // The members' actions in this pipeline only: a member also working in another pipeline
      // leaks or enforces there, not here (as the revocations above count this pipeline's only).
      `SELECT agent_id, layer, countIf(violation) AS violations, countIf(NOT violation) AS blocked
       FROM post_revocation_actions FINAL WHERE agent_id IN {ids:Array(String)} AND pipeline_id = {p:String} GROUP BY agent_id, layer`,
      { ids: agentIds, p: pipelineId },
    ),
    credentialsOf(client, "pipeline", pipelineId),
  ]);
  const cell = new Map(cells.map((c) => [`${c.agent_id}\u0000${c.layer}`, c]));
  const layers = [...new Set([...members.flatMap((m) => m.layers), ...cells.map((c) => c.layer)])].sort();
  const matrix = members.flatMap((m) =>
    layers.map((layer) => {
      const c = cell.get(`${m.agent_id}\u0000${layer}`);
      const status: MatrixStatus = !c ? "silent" : Number(c.violations) > 0 ? "leaking" : "enforcing";
      return { agent_id: m.agent_id, layer, status, violations: Number(c?.violations ?? 0), blocked: Number(c?.blocked ?? 0) };
    }),
  );
  return {
    pipeline_id: pipelineId,
    agents: members,
    layers,
    revocations,
    matrix,
    credentials,
    containment: worstContainment(revocations.filter((r) => r.violation_count + r.blocked_count > 0).map((r) => r.containment)),
  };
}
