import { z } from "zod";
import { lookupStatuses } from "@/lib/feed/lookup";
import { credentialIdSchema } from "@/lib/feed/status";
import { apiRoute } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/**
 * GET /api/v1/credentials/{id}/status (enforcer, admin): {credential_id, covered, revocations}
 * from the covered-credentials feed kept in memory, or a primary-key read of the coverage table
 * until that copy has caught up (lib/feed/lookup.ts); a credential no revocation covers is
 * `covered: false`. docs/API.md, "Enforcement points".
 */
export const GET = apiRoute<{ id: string }>("enforcer", async (_req, { params }) => {
  const { id } = z.object({ id: credentialIdSchema }).parse({ id: params.id });
  const { statuses, source } = await lookupStatuses([id]);
  return Response.json(statuses[0], { headers: { "cache-control": "no-store", "x-revenant-source": source } });
});
