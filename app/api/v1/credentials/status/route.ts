import { z } from "zod";
import { lookupStatuses } from "@/lib/feed/lookup";
import { credentialIdSchema, MAX_LOOKUP_IDS } from "@/lib/feed/status";
import { apiRoute, readJson } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const body = z.object({ ids: z.array(credentialIdSchema).min(1).max(MAX_LOOKUP_IDS) }).strict();

/**
 * POST /api/v1/credentials/status {ids: [...]} (enforcer, admin): {items: [status, …]} in the
 * order asked, one read for all of them. docs/API.md, "Enforcement points".
 */
export const POST = apiRoute("enforcer", async (req) => {
  const { ids } = body.parse(await readJson(req));
  const { statuses, source } = await lookupStatuses(ids);
  return Response.json({ items: statuses }, { headers: { "cache-control": "no-store", "x-revenant-source": source } });
});
