/** Revocation reads (SPEC §3): the summaries detection keeps in revocation_status. */
import type { ClickHouseClient } from "@clickhouse/client";
import type { RevocationSummary } from "../detection/types";
import { decodeCursor, page } from "../http/cursor";
import { queryRows } from "../store/clickhouse";

export interface RevocationRow extends RevocationSummary {
  agents: string[];
  pipelines: string[];
  evaluated_at: string;
}

export const REVOCATION_COLUMNS = `event_id, time, scope, subject, cascade, reason, initiated_by, reinstated_at, containment,
  layers, propagation_ms, violation_count, blocked_count, agents, pipelines, evaluated_at`;

export interface RevocationFilters {
  scope?: string;
  subject?: string;
  containment?: string;
  agent_id?: string;
  pipeline_id?: string;
  from?: string;
  to?: string;
}

function conditions(f: RevocationFilters, params: Record<string, unknown>): string[] {
  const parts: string[] = [];
  for (const col of ["scope", "subject", "containment"] as const) {
    if (f[col] !== undefined) {
      parts.push(`${col} = {${col}:String}`);
      params[col] = f[col];
    }
  }
  if (f.agent_id !== undefined) {
    parts.push("(has(agents, {agent_id:String}) OR (scope = 'agent' AND subject = {agent_id:String}))");
    params.agent_id = f.agent_id;
  }
  if (f.pipeline_id !== undefined) {
    parts.push("(has(pipelines, {pipeline_id:String}) OR (scope = 'pipeline' AND subject = {pipeline_id:String}))");
    params.pipeline_id = f.pipeline_id;
  }
  if (f.from) {
    parts.push("time >= parseDateTime64BestEffort({from:String}, 3, 'UTC')");
    params.from = f.from;
  }
  if (f.to) {
    parts.push("time <= parseDateTime64BestEffort({to:String}, 3, 'UTC')");
    params.to = f.to;
  }
  return parts;
}

export async function listRevocations(client: ClickHouseClient, f: RevocationFilters, cursor: string | undefined, limit: number) {
  const params: Record<string, unknown> = { limit: limit + 1 };
  const parts = conditions(f, params);
  const after = decodeCursor(cursor);
  if (after) {
    parts.push("(time, event_id) < (parseDateTime64BestEffort({c_t:String}, 3, 'UTC'), {c_id:String})");
    Object.assign(params, { c_t: after.t, c_id: after.id });
  }
  const rows = await queryRows<RevocationRow>(
    client,
    "api:revocations",
    `SELECT ${REVOCATION_COLUMNS} FROM revocation_status FINAL ${parts.length ? `WHERE ${parts.join(" AND ")}` : ""}
     ORDER BY time DESC, event_id DESC LIMIT {limit:UInt32}`,
    params,
  );
  return page(rows, limit, (r) => ({ t: r.time, id: r.event_id }));
}

export async function allRevocations(client: ClickHouseClient, f: RevocationFilters = {}): Promise<RevocationRow[]> {
  const params: Record<string, unknown> = {};
  const parts = conditions(f, params);
  return queryRows<RevocationRow>(
    client,
    "api:revocations:all",
    `SELECT ${REVOCATION_COLUMNS} FROM revocation_status FINAL ${parts.length ? `WHERE ${parts.join(" AND ")}` : ""} ORDER BY time DESC, event_id DESC`,
    params,
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
