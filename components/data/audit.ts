/** The audit log (admin): newest first, filtered by action and actor, cursor pages. */
import { useInfiniteList } from "./query";
import type { AuditEntry, AuditListQuery } from "./types";

export type AuditFilters = Pick<AuditListQuery, "action" | "actor">;

export const auditKeys = { all: ["audit"] as const, list: (f: AuditFilters) => ["audit", "list", f] as const };

export function useAudit(filters: AuditFilters, { limit = 100 }: Pick<AuditListQuery, "limit"> = {}) {
  return useInfiniteList<AuditEntry>(auditKeys.list(filters), "/audit", { ...filters }, { limit, live: false });
}
