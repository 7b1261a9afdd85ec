import { randomUUID } from "node:crypto";
import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { ApiKeyStore, keyNameSchema } from "@/lib/auth/keys";
import { KEY_ROLES } from "@/lib/auth/roles";
import { DEFAULT_SCOPES, SCOPES } from "@/lib/auth/scopes";
import { apiRoute, readJson } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/** GET /api/v1/keys: API keys without their secrets (admin). */
export const GET = apiRoute("admin", async () => {
  return Response.json({ items: await new ApiKeyStore().list(), next_cursor: null });
});

const body = z.object({ name: keyNameSchema, role: z.enum(KEY_ROLES), scopes: z.array(z.enum(SCOPES)).max(SCOPES.length).optional() });

/**
 * POST /api/v1/keys {name, role, scopes?}: 201 with {key, ...}; `key` is shown this once
 * only. scopes (lib/auth/scopes.ts) default to ["ingest:telemetry"].
 */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const input = body.parse(await readJson(req));
  const id = randomUUID();
  // Written first: an admin change that the audit log cannot record does not happen.
  await audit(principal, "key.create", id, { name: input.name, role: input.role, scopes: input.scopes ?? DEFAULT_SCOPES }, req, { required: true });
  const { key, apiKey } = await new ApiKeyStore().create({ ...input, createdBy: principal!.name, id });
  return Response.json({ ...apiKey, key }, { status: 201, headers: { "cache-control": "no-store" } });
});
