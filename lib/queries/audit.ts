/** The audit log list (GET /api/v1/audit, docs/API.md): its query schema, parsed by the route and typed by the UI hook, and its read. */
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import type { AuditEntry } from "../auth/audit";
import { decodeCursor, page } from "../http/cursor";
import { cursorParam, limitParam } from "../http/params";
import { queryRows } from "../store/clickhouse";
import { Conditions } from "./conditions";

export const auditListQuery = z.object({
  limit: limitParam(100),
  cursor: cursorParam,
  action: z.string().max(64).optional(),
  actor: z.string().max(256).optional(),
});
/** What a caller may send, typed as the route reads it. */
export type AuditListQuery = Partial<z.output<typeof auditListQuery>>;

/** Entries newest first; `actor` matches the actor's id or name (an email or a key id). */
export async function listAudit(client: ClickHouseClient, q: z.output<typeof auditListQuery>) {
  const c = new Conditions().equals(q, ["action"]).before("at", "id", decodeCursor(q.cursor));
  if (q.actor) c.add("(actor_id = {actor:String} OR actor_name = {actor:String})", { actor: q.actor });
  const rows = await queryRows<Omit<AuditEntry, "details"> & { details: string }>(
    client,
    "audit:list",
    `SELECT at, id, actor_kind, actor_id, actor_name, action, target, details, ip FROM audit_log
     ${c.where} ORDER BY at DESC, id DESC LIMIT {limit:UInt32}`,
    { ...c.params, limit: q.limit + 1 },
  );
  const { items, next_cursor } = page(rows, q.limit, (r) => ({ t: r.at, id: r.id }));
  return { items: items.map((r): AuditEntry => ({ ...r, details: parseDetails(r.details) })), next_cursor };
}

function parseDetails(s: string): Record<string, unknown> {
  try {
    return JSON.parse(s) as Record<string, unknown>;
  } catch {
    return {};
  }
}
