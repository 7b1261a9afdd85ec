/** The audit log list's query (GET /api/v1/audit, docs/API.md): parsed by the route, typed by the UI hook. */
import { z } from "zod";
import { limitParam } from "../http/params";

export const auditListQuery = z.object({
  limit: limitParam(100),
  cursor: z.string().max(512).optional(),
  action: z.string().max(64).optional(),
  actor: z.string().max(256).optional(),
});
/** What a caller may send, typed as the route reads it. */
export type AuditListQuery = Partial<z.output<typeof auditListQuery>>;
