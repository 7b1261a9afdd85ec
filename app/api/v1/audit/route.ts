import { listAudit } from "@/lib/auth/audit";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { auditListQuery } from "@/lib/queries/audit";

export const dynamic = "force-dynamic";

/** GET /api/v1/audit?action&actor&limit&cursor (admin): who did what, newest first. */
export const GET = apiRoute("admin", async (req) => {
  return Response.json(await listAudit(parseQuery(req, auditListQuery)));
});
