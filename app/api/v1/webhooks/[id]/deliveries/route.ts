import { notFound } from "@/lib/http/errors";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { deliveryListQuery } from "@/lib/queries/deliveries";
import { DeliveryStore } from "@/lib/webhooks/deliveries";
import { EndpointStore } from "@/lib/webhooks/endpoints";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/**
 * GET /api/v1/webhooks/{id}/deliveries (admin): deliveries newest first, each with its
 * status, webhook-id (`id`), attempt count, next attempt time and `attempt_log`
 * [{attempt, at, status_code, error, duration_ms, outcome}].
 */
export const GET = apiRoute<{ id: string }>("admin", async (req, { params }) => {
  const { limit, cursor } = parseQuery(req, deliveryListQuery);
  if (!(await new EndpointStore(store().reader, store().writer).get(params.id))) throw notFound("webhook endpoint");
  return Response.json(await new DeliveryStore(store().reader, store().writer).listForEndpoint(params.id, limit, cursor));
});
