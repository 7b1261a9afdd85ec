import { apiRoute, parseQuery } from "@/lib/http/route";
import { auditListQuery, listAudit } from "@/lib/queries/audit";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** GET /api/v1/audit?action&actor&limit&cursor (admin): who did what, newest first. */
export const GET = apiRoute("admin", async (req) => {
  return Response.json(await listAudit(store().reader, parseQuery(req, auditListQuery)));
});
