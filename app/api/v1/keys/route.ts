import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { ApiKeyStore, keyNameSchema } from "@/lib/auth/keys";
import { KEY_ROLES } from "@/lib/auth/roles";
import { apiRoute, readJson } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/** GET /api/v1/keys: API keys without their secrets (admin). */
export const GET = apiRoute("admin", async () => {
  return Response.json({ items: await new ApiKeyStore().list(), next_cursor: null });
});

const body = z.object({ name: keyNameSchema, role: z.enum(KEY_ROLES) });

/** POST /api/v1/keys {name, role}: 201 with {key, ...}; `key` is shown this once only. */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const input = body.parse(await readJson(req));
  const { key, apiKey } = await new ApiKeyStore().create({ ...input, createdBy: principal!.name });
  await audit(principal, "key.create", apiKey.id, { name: apiKey.name, role: apiKey.role }, req);
  return Response.json({ ...apiKey, key }, { status: 201, headers: { "cache-control": "no-store" } });
});
