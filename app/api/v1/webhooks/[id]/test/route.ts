import { audit } from "@/lib/auth/audit";
import { notFound } from "@/lib/http/errors";
import { apiRoute } from "@/lib/http/route";
import { sendTestDelivery, testOutcome } from "@/lib/webhooks/dispatcher";
import { store } from "@/lib/store/clickhouse";
import { DeliveryStore } from "@/lib/webhooks/deliveries";
import { EndpointStore } from "@/lib/webhooks/endpoints";

export const dynamic = "force-dynamic";

/**
 * POST /api/v1/webhooks/{id}/test (admin): sends a signed `webhook.test` event now, once,
 * and answers with the outcome {delivery_id, ok, status_code, error, duration_ms}. It is
 * also listed among the endpoint's deliveries.
 */
export const POST = apiRoute<{ id: string }>("admin", async (req, { principal, params }) => {
  const { reader, writer } = store();
  const endpoint = await new EndpointStore(reader, writer).getWithSecret(params.id);
  if (!endpoint) throw notFound("webhook endpoint");
  await audit(principal, "webhook.test", endpoint.id, {}, req, { required: true });
  const { delivery, result } = await sendTestDelivery(new DeliveryStore(reader, writer), endpoint);
  return Response.json(testOutcome(delivery, result));
});
