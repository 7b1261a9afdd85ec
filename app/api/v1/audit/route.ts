import { z } from "zod";
import { listAudit } from "@/lib/auth/audit";
import { limitParam } from "@/lib/http/params";
import { apiRoute, parseQuery } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const query = z.object({ limit: limitParam(100), cursor: z.string().max(512).optional(), action: z.string().max(64).optional(), actor: z.string().max(256).optional() });

/** GET /api/v1/audit?action&actor&limit&cursor (admin): who did what, newest first. */
export const GET = apiRoute("admin", async (req) => {
  return Response.json(await listAudit(parseQuery(req, query)));
});
