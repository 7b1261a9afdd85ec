import { audit } from "@/lib/auth/audit";
import { notFound } from "@/lib/http/errors";
import { apiRoute, readJson } from "@/lib/http/route";
import { EndpointStore, endpointPatch } from "@/lib/webhooks/endpoints";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** GET /api/v1/webhooks/{id} (admin), without the secret. */
export const GET = apiRoute<{ id: string }>("admin", async (_req, { params }) => {
  const e = await new EndpointStore(store().reader, store().writer).get(params.id);
  if (!e) throw notFound("webhook endpoint");
  return Response.json(e);
});

/** PATCH /api/v1/webhooks/{id} {description?, min_severity?, rules?, pipelines?, enabled?} (admin). The URL cannot change: create a new endpoint. */
export const PATCH = apiRoute<{ id: string }>("admin", async (req, { principal, params }) => {
  const change = endpointPatch.strict().parse(await readJson(req));
  const endpoints = new EndpointStore(store().reader, store().writer);
  if (!(await endpoints.get(params.id))) throw notFound("webhook endpoint");
  await audit(principal, "webhook.update", params.id, change, req, { required: true });
  const e = await endpoints.update(params.id, change);
  if (!e) throw notFound("webhook endpoint");
  return Response.json(e);
});

/** DELETE /api/v1/webhooks/{id} (admin): pending deliveries to it are cancelled. */
export const DELETE = apiRoute<{ id: string }>("admin", async (req, { principal, params }) => {
  const endpoints = new EndpointStore(store().reader, store().writer);
  if (!(await endpoints.get(params.id))) throw notFound("webhook endpoint");
  await audit(principal, "webhook.delete", params.id, {}, req, { required: true });
  if (!(await endpoints.delete(params.id))) throw notFound("webhook endpoint");
  return new Response(null, { status: 204 });
});
