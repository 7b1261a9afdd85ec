import { audit } from "@/lib/auth/audit";
import { ApiKeyStore } from "@/lib/auth/keys";
import { notFound } from "@/lib/http/errors";
import { apiRoute } from "@/lib/http/route";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** DELETE /api/v1/keys/{id}: revokes the key at once (admin). The record stays, marked revoked. */
export const DELETE = apiRoute<{ id: string }>("admin", async (req, { principal, params }) => {
  const keys = new ApiKeyStore(store().reader, store().writer);
  const current = await keys.get(params.id);
  if (!current) throw notFound("API key");
  await audit(principal, "key.revoke", current.id, { name: current.name }, req, { required: true });
  const revoked = await keys.revoke(params.id);
  if (!revoked) throw notFound("API key");
  return Response.json(revoked);
});
