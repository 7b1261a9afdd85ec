/**
 * Pipelines (SPEC §3): members, the revocations that touched them, containment per
 * agent × layer (enforcing / leaking / silent) and the delegation tree of their credentials.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Containment } from "../detection/types";
import { queryRows } from "../store/clickhouse";
import { credentialsOf } from "./agents";
import { allRevocations, worstContainment } from "./revocations";

export interface PipelineListItem {
  pipeline_id: string;
  agents: string[];
  last_seen: string;
  revocation_count: number;
  violation_count: number;
  containment: Containment | null;
}

export async function listPipelines(client: ClickHouseClient, q?: string): Promise<PipelineListItem[]> {
  const [rows, revocations] = await Promise.all([
    queryRows<{ pipeline_id: string; agents: string[]; last_seen: string }>(
      client,
      "api:pipelines",
      `SELECT pipeline_id, arraySort(groupUniqArray(agent_id)) AS agents, max(last_seen) AS last_seen
       FROM (SELECT agent_id, max(last_seen) AS last_seen, groupUniqArrayArray(pipelines) AS pipelines FROM agent_summary GROUP BY agent_id)
       ARRAY JOIN pipelines AS pipeline_id
       ${q ? "WHERE positionCaseInsensitive(pipeline_id, {q:String}) > 0" : ""}
       GROUP BY pipeline_id ORDER BY last_seen DESC`,
      q ? { q } : {},
    ),
    allRevocations(client),
  ]);
  return rows.map((p) => {
    const touching = revocations.filter((r) => r.pipelines.includes(p.pipeline_id) || (r.scope === "pipeline" && r.subject === p.pipeline_id));
    return {
      ...p,
      revocation_count: touching.length,
      violation_count: touching.reduce((n, r) => n + Number(r.violation_count), 0),
      containment: worstContainment(touching.filter((r) => r.violation_count + r.blocked_count > 0).map((r) => r.containment)),
    };
  });
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
      `SELECT agent_id, layer, countIf(violation) AS violations, countIf(NOT violation) AS blocked
       FROM post_revocation_actions FINAL WHERE agent_id IN {ids:Array(String)} GROUP BY agent_id, layer`,
      { ids: agentIds },
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
