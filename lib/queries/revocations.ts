/** Revocation reads (docs/API.md): the summaries detection keeps in revocation_status. */
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import type { RevocationSummary } from "../detection/types";
import { decodeCursor, page } from "../http/cursor";
import { cursorParam, idParam, limitParam, timeParam } from "../http/params";
import { queryRows, SMALL_READS } from "../store/clickhouse";
import { Conditions } from "./conditions";

export interface RevocationRow extends RevocationSummary {
  agents: string[];
  pipelines: string[];
  evaluated_at: string;
}

export const REVOCATION_COLUMNS = `event_id, time, scope, subject, cascade, reason, initiated_by, reinstated_at, containment,
  layers, propagation_ms, violation_count, blocked_count, agents, pipelines, evaluated_at`;

/** GET /api/v1/revocations: parsed by the route, typed by the UI hook (components/data/revocations.ts). */
export const revocationListQuery = z.object({
  scope: z.enum(["agent", "session", "credential", "pipeline"]).optional(),
  subject: idParam.optional(),
  containment: z.enum(["contained", "partial", "uncontained"]).optional(),
  agent_id: idParam.optional(),
  pipeline_id: idParam.optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
  limit: limitParam(100),
  cursor: cursorParam,
});
export type RevocationFilters = Omit<z.output<typeof revocationListQuery>, "limit" | "cursor">;

function conditions(f: RevocationFilters): Conditions {
  const c = new Conditions().equals(f, ["scope", "subject", "containment"]).timeRange("time", f.from, f.to);
  if (f.agent_id !== undefined) {
    c.add("(has(agents, {agent_id:String}) OR (scope = 'agent' AND subject = {agent_id:String}))", { agent_id: f.agent_id });
  }
  if (f.pipeline_id !== undefined) {
    c.add("(has(pipelines, {pipeline_id:String}) OR (scope = 'pipeline' AND subject = {pipeline_id:String}))", { pipeline_id: f.pipeline_id });
  }
  return c;
}

export async function listRevocations(client: ClickHouseClient, f: RevocationFilters, cursor: string | undefined, limit: number) {
  const c = conditions(f).before("time", "event_id", decodeCursor(cursor));
  const rows = await queryRows<RevocationRow>(
    client,
    "api:revocations",
    `SELECT ${REVOCATION_COLUMNS} FROM revocation_status FINAL ${c.where}
     ORDER BY time DESC, event_id DESC LIMIT {limit:UInt32}`,
    { ...c.params, limit: limit + 1 },
  );
  return page(rows, limit, (r) => ({ t: r.time, id: r.event_id }));
}

export async function allRevocations(client: ClickHouseClient, f: RevocationFilters = {}): Promise<RevocationRow[]> {
  const c = conditions(f);
  return queryRows<RevocationRow>(
    client,
    "api:revocations:all",
    `SELECT ${REVOCATION_COLUMNS} FROM revocation_status FINAL ${c.where} ORDER BY time DESC, event_id DESC`,
    c.params,
  );
}

/**
 * The revocations an agent has post-revocation pairs under or is covered by (detection's
 * counters and coverage, both a few rows per revocation and agent): where the agent's timeline
 * looks for its flags and its revocations, by primary key instead of a FINAL pass over every
 * summary or pair (the timeline is the dashboard's hottest page). Empty for an agent no
 * revocation ever touched, which then needs neither.
 */
export async function revocationIdsOfAgent(client: ClickHouseClient, agentId: string): Promise<string[]> {
  const rows = await queryRows<{ revocation_id: string }>(
    client,
    "api:revocations:idsOfAgent",
    `SELECT revocation_id FROM revocation_counters WHERE agent_id = {a:String}
     UNION DISTINCT
     SELECT revocation_id FROM coverage WHERE key_kind = 'agent' AND key = {a:String}
     ${SMALL_READS}`,
    { a: agentId },
  );
  return rows.map((r) => r.revocation_id);
}

/** What an agent's timeline shows of a revocation. */
export type TimelineRevocation = Pick<RevocationRow, "event_id" | "time" | "scope" | "subject" | "reinstated_at" | "containment">;

/**
 * The revocations an agent's timeline shows, newest first: those among `ids`
 * (revocationIdsOfAgent) it has post-revocation pairs under or is the subject of (what
 * allRevocations with agent_id filters for). Only the columns the timeline shows: the layers,
 * delays and agent lists are most of a summary's bytes. The ids filter before FINAL's merge
 * (PREWHERE; every version of a summary has the same key), the agents after it.
 */
export async function timelineRevocations(client: ClickHouseClient, agentId: string, ids: string[]): Promise<TimelineRevocation[]> {
  if (!ids.length) return [];
  return queryRows<TimelineRevocation>(
    client,
    "api:revocations:ofAgent",
    `SELECT event_id, time, scope, subject, reinstated_at, containment FROM revocation_status FINAL
     PREWHERE event_id IN {ids:Array(String)} WHERE has(agents, {a:String}) OR (scope = 'agent' AND subject = {a:String})
     ORDER BY time DESC, event_id DESC ${SMALL_READS}`,
    { a: agentId, ids },
  );
}

export async function getRevocation(client: ClickHouseClient, id: string): Promise<RevocationRow | null> {
  const rows = await queryRows<RevocationRow>(
    client,
    "api:revocation",
    `SELECT ${REVOCATION_COLUMNS} FROM revocation_status FINAL WHERE event_id = {id:String}`,
    { id },
  );
  return rows[0] ?? null;
}

const RANK = { contained: 0, partial: 1, uncontained: 2 } as const;

/** The worst of several containments (uncontained > partial > contained), or null for none. */
export function worstContainment(values: RevocationSummary["containment"][]): RevocationSummary["containment"] | null {
  if (!values.length) return null;
  return values.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
}
