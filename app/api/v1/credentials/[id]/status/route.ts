import { credentialIdSchema, credentialStatuses } from "@/lib/feed/status";
import { apiRoute } from "@/lib/http/route";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/**
 * GET /api/v1/credentials/{id}/status (enforcer, admin): {credential_id, covered, revocations}
 * from a primary-key read of the coverage table; a credential no revocation covers is
 * `covered: false`. docs/API.md, "Enforcement points".
 */
export const GET = apiRoute<{ id: string }>("enforcer", async (_req, { params }) => {
  const id = credentialIdSchema.parse(decodeURIComponent(params.id));
  const [status] = await credentialStatuses(store().lookup, [id]);
  return Response.json(status, { headers: { "cache-control": "no-store" } });
});
