import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { config } from "@/lib/config";
import { badParam, notFound } from "@/lib/http/errors";
import { apiRoute, parseQuery, readJson } from "@/lib/http/route";
import { EndpointStore, endpointInput } from "@/lib/webhooks/endpoints";
import { parseAllowlist, SsrfError, vetUrl } from "@/lib/webhooks/ssrf";

export const dynamic = "force-dynamic";

/** GET /api/v1/webhooks (admin): endpoints without their secrets. */
export const GET = apiRoute("admin", async () => {
  return Response.json({ items: await new EndpointStore().list(), next_cursor: null });
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
  const endpoint = await new EndpointStore().create(input, principal!.name);
  // Only the origin: webhook URLs often carry a token in their path (chat integrations).
  await audit(principal, "webhook.create", endpoint.id, { origin: new URL(endpoint.url).origin, min_severity: endpoint.min_severity, rules: endpoint.rules, pipelines: endpoint.pipelines }, req);
  return Response.json(endpoint, { status: 201, headers: { "cache-control": "no-store" } });
});

/** DELETE /api/v1/webhooks?id=… (admin): same as DELETE /api/v1/webhooks/{id}. */
export const DELETE = apiRoute("admin", async (req, { principal }) => {
  const { id } = parseQuery(req, z.object({ id: z.string().min(1).max(128) }));
  if (!(await new EndpointStore().delete(id))) throw notFound("webhook endpoint");
  await audit(principal, "webhook.delete", id, {}, req);
  return new Response(null, { status: 204 });
});

