import { randomUUID } from "node:crypto";
import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { ApiKeyStore, keyNameSchema } from "@/lib/auth/keys";
import { KEY_ROLES } from "@/lib/auth/roles";
import { DEFAULT_SCOPES, SCOPES } from "@/lib/auth/scopes";
import { apiRoute, parseQuery, readJson } from "@/lib/http/route";
import { adminListQuery } from "@/lib/queries/admin-lists";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** GET /api/v1/keys?limit&cursor: API keys without their secrets, newest first (admin). */
export const GET = apiRoute("admin", async (req) => {
  return Response.json(await new ApiKeyStore(store().reader, store().writer).list(parseQuery(req, adminListQuery)));
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
  const { key, apiKey } = await new ApiKeyStore(store().reader, store().writer).create({ ...input, createdBy: principal!.name, id });
  return Response.json({ ...apiKey, key }, { status: 201, headers: { "cache-control": "no-store" } });
});
