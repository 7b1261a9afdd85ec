/** Alert list reads (SPEC §3): filters, newest first by creation, keyset pages. */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Alert } from "../alerts/store";
import { decodeCursor, page } from "../http/cursor";
import { queryRows } from "../store/clickhouse";

export interface AlertFilters {
  status?: string;
  rule?: string;
  severity?: string;
  agent_id?: string;
  pipeline_id?: string;
  revocation_id?: string;
}

export async function listAlerts(client: ClickHouseClient, f: AlertFilters, cursor: string | undefined, limit: number) {
  const parts: string[] = [];
  const params: Record<string, unknown> = { limit: limit + 1 };
  for (const col of ["status", "rule", "severity", "agent_id", "pipeline_id", "revocation_id"] as const) {
    if (f[col] !== undefined) {
      parts.push(`${col} = {${col}:String}`);
      params[col] = f[col];
    }
  }
  const after = decodeCursor(cursor);
  if (after) {
    parts.push("(created_at, id) < (parseDateTime64BestEffort({c_t:String}, 3, 'UTC'), {c_id:String})");
    Object.assign(params, { c_t: after.t, c_id: after.id });
  }
  const rows = await queryRows<Alert>(
    client,
    "api:alerts",
    `SELECT id, rule, severity, status, revocation_id, agent_id, pipeline_id, layers_enforcing, layers_leaking,
            violation_count, first_violation_at, last_violation_at, sample_event_ids, created_at, updated_at,
            status_changed_at, reopened
     FROM alerts FINAL ${parts.length ? `WHERE ${parts.join(" AND ")}` : ""}
     ORDER BY created_at DESC, id DESC LIMIT {limit:UInt32}`,
    params,
  );
  return page(rows, limit, (a) => ({ t: a.created_at, id: a.id }));
}
