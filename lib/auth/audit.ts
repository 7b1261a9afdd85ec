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
 * user.update, user.delete, user.reset (CLI), user.bootstrap_admin, secrets.reseal (CLI),
 * ssf_stream.create, ssf_stream.update, ssf_stream.delete, ssf_stream.verify.
 *
 * The log writes on the process's writer session, like the logger writes to its stream: every
 * route and job records through this one function. Reading it is a list like the others
 * (lib/queries/audit.ts).
 */
import { randomUUID } from "node:crypto";
import { clientAddress } from "../http/client-address";
import { takeToken } from "../http/rate-limit";
import { logger } from "../log";
import { insertRows, store } from "../store/clickhouse";
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
    await insertRows(store().writer, "audit_log", [entry], { comment: "audit:write" });
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
