import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { config } from "@/lib/config";
import { badParam, notFound } from "@/lib/http/errors";
import { apiRoute, parseQuery, readJson } from "@/lib/http/route";
import { adminListQuery } from "@/lib/queries/admin-lists";
import { EndpointStore, endpointInput, newEndpointId } from "@/lib/webhooks/endpoints";
import { parseAllowlist, SsrfError, vetUrl } from "@/lib/webhooks/ssrf";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** GET /api/v1/webhooks?limit&cursor (admin): endpoints without their secrets, newest first. */
export const GET = apiRoute("admin", async (req) => {
  return Response.json(await new EndpointStore(store().reader, store().writer).list(parseQuery(req, adminListQuery)));
});

/**
 * POST /api/v1/webhooks {url, description?, min_severity?, rules?, pipelines?, enabled?} (admin):
 * 201 with the endpoint and its `secret` (whsec_…), shown this once only. A URL that does
 * not resolve to a public address is refused (400, param "url") unless allow-listed.
 */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const input = endpointInput.parse(await readJson(req));
  try {
    const url = await vetUrl(input.url, parseAllowlist(config().REVENANT_WEBHOOK_ALLOWLIST));
    input.url = url.toString();
  } catch (err) {
    if (err instanceof SsrfError) throw badParam("url", err.message);
    throw err;
  }
  const id = newEndpointId();
  // Only the origin: webhook URLs often carry a token in their path (chat integrations).
  await audit(principal, "webhook.create", id, { origin: new URL(input.url).origin, min_severity: input.min_severity, rules: input.rules, pipelines: input.pipelines }, req, { required: true });
  const endpoint = await new EndpointStore(store().reader, store().writer).create(input, principal!.name, id);
  return Response.json(endpoint, { status: 201, headers: { "cache-control": "no-store" } });
});

/** DELETE /api/v1/webhooks?id=… (admin): same as DELETE /api/v1/webhooks/{id}. */
export const DELETE = apiRoute("admin", async (req, { principal }) => {
  const { id } = parseQuery(req, z.object({ id: z.string().min(1).max(128) }));
  const endpoints = new EndpointStore(store().reader, store().writer);
  if (!(await endpoints.get(id))) throw notFound("webhook endpoint");
  await audit(principal, "webhook.delete", id, {}, req, { required: true });
  if (!(await endpoints.delete(id))) throw notFound("webhook endpoint");
  return new Response(null, { status: 204 });
});

