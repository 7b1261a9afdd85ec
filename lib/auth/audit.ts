/**
 * The audit log: who did what, stored in ClickHouse, shown to admins.
 *
 * Call `audit(principal, action, target, details)` after an action succeeds (or, for
 * sign-in, after each attempt). It never throws, unless `required`: admin changes write
 * their row first, with required: true, so that a change the log cannot record is not
 * made. `details` must not contain secrets; keys named like secrets are removed anyway.
 *
 * Actions in use: auth.login, auth.login_failed, auth.logout, access.refused (401/403,
 * CSRF), rate_limit.hit, alert.status, export, events.ingest, webhook.create,
 * webhook.update, webhook.delete, webhook.test, key.create, key.revoke, user.create,
 * user.update, user.delete, user.reset (CLI), user.bootstrap_admin, secrets.reseal (CLI).
 */
import { randomUUID } from "node:crypto";
import { clientAddress } from "../http/client-address";
import { takeToken } from "../http/rate-limit";
import { logger } from "../log";
import { queryRows, store } from "../store/clickhouse";
import type { Principal } from "./roles";

export interface AuditEntry {
  at: string;
  id: string;
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
  ip: string;
}

const SECRETISH = /pass|secret|token|key$|authorization|cookie/i;

function scrub(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([k]) => !SECRETISH.test(k)));
}

/** The client address (lib/http/client-address.ts: the right-most untrusted X-Forwarded-For hop). */
export function clientIp(req: Request | null | undefined): string {
  return clientAddress(req);
}

export class AuditWriteError extends Error {}

/**
 * `required`: the caller's action must not stand without its audit row (admin changes):
 * a failed write throws AuditWriteError instead of being logged and ignored.
 */
export async function audit(
  principal: Principal | null,
  action: string,
  target: string,
  details: Record<string, unknown> = {},
  req?: Request,
  opts: { required?: boolean } = {},
): Promise<void> {
  const entry = {
    at: new Date().toISOString(),
    id: randomUUID(),
    actor_kind: principal?.kind ?? "anonymous",
    actor_id: principal?.id ?? "",
    actor_name: principal?.name ?? "",
    action,
    target,
    details: JSON.stringify(scrub(details)),
    ip: clientIp(req),
  };
  try {
    await store().writer.insert({ table: "audit_log", values: [entry], format: "JSONEachRow", clickhouse_settings: { async_insert: 0, log_comment: "audit:write" } });
  } catch (err) {
    logger().error({ err: (err as Error).message, action, target, actor: entry.actor_id }, "audit write failed");
    if (opts.required) throw new AuditWriteError(`the audit log could not record ${action}`);
  }
}

/**
 * A refused request (401, 403, CSRF, 429). At most REFUSAL_ROWS_PER_MIN rows per client
 * address a minute: a flood of refusals must not turn into a flood of audit inserts.
 */
const REFUSAL_ROWS_PER_MIN = 60;

export async function auditRefusal(principal: Principal | null, req: Request, status: number, code: string): Promise<void> {
  if (takeToken(`audit-refusal:${clientIp(req) || "unknown"}`, REFUSAL_ROWS_PER_MIN) > 0) return;
  const url = new URL(req.url);
  await audit(principal, status === 429 ? "rate_limit.hit" : "access.refused", url.pathname, { status, code, method: req.method }, req);
}

export interface AuditQuery {
  limit: number;
  /** Opaque cursor from a previous page: entries strictly older than it. */
  cursor?: string;
  action?: string;
  actor?: string;
}

function encodeCursor(e: { at: string; id: string }): string {
  return Buffer.from(JSON.stringify([e.at, e.id])).toString("base64url");
}

function decodeCursor(c: string): { at: string; id: string } | null {
  try {
    const [at, id] = JSON.parse(Buffer.from(c, "base64url").toString()) as [string, string];
    return typeof at === "string" && typeof id === "string" ? { at, id } : null;
  } catch {
    return null;
  }
}

export async function listAudit(q: AuditQuery): Promise<{ items: AuditEntry[]; next_cursor: string | null }> {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: q.limit + 1 };
  const cur = q.cursor ? decodeCursor(q.cursor) : null;
  if (cur) {
    where.push("(at, id) < ({cat:DateTime64(3, 'UTC')}, {cid:String})");
    params.cat = cur.at.replace("T", " ").replace("Z", "");
    params.cid = cur.id;
  }
  if (q.action) {
    where.push("action = {action:String}");
    params.action = q.action;
  }
  if (q.actor) {
    where.push("(actor_id = {actor:String} OR actor_name = {actor:String})");
    params.actor = q.actor;
  }
  const rows = await queryRows<Omit<AuditEntry, "details"> & { details: string }>(
    store().reader,
    "audit:list",
    `SELECT at, id, actor_kind, actor_id, actor_name, action, target, details, ip FROM audit_log
     ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY at DESC, id DESC LIMIT {limit:UInt32}`,
    params,
  );
  const items = rows.slice(0, q.limit).map((r) => ({ ...r, details: safeParse(r.details) }));
  return { items, next_cursor: rows.length > q.limit ? encodeCursor(items[items.length - 1]) : null };
}

function safeParse(s: string): Record<string, unknown> {
  try {
    return JSON.parse(s) as Record<string, unknown>;
  } catch {
    return {};
  }
}
