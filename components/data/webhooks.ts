/** Webhook endpoints, their deliveries and "Send test" (admin; docs/WEBHOOKS.md). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { AdminListQuery } from "@/lib/queries/admin-lists";
import type { DeliveryListQuery } from "@/lib/queries/deliveries";
import { api } from "./api";
import { useInfiniteList } from "./query";
import type { CreatedEndpoint, DeliveryRow, EndpointChange, EndpointCreate, Page, TestDeliveryOutcome, WebhookEndpoint } from "./types";

/** The rules an endpoint can filter on: the API's own list (pure constants, safe in the browser). */
export { ALERT_RULES } from "@/lib/detection/types";

export const webhookKeys = {
  all: ["webhooks"] as const,
  list: (q: Partial<AdminListQuery>) => ["webhooks", "list", q] as const,
  deliveries: (endpointId: string) => ["webhooks", "deliveries", endpointId] as const,
};

const path = (id: string) => `/webhooks/${encodeURIComponent(id)}`;

/** One page, newest first: the route's default page holds every endpoint (lib/queries/admin-lists.ts). */
export function useWebhookEndpoints(query: Partial<AdminListQuery> = {}) {
  return useQuery({ queryKey: webhookKeys.list(query), queryFn: ({ signal }) => api<Page<WebhookEndpoint>>("/webhooks", { params: query, signal }) });
}

/** An endpoint's deliveries, newest first, polled live (an attempt shows within seconds). */
export function useDeliveries(endpointId: string, { limit = 50 }: Pick<DeliveryListQuery, "limit"> = {}) {
  return useInfiniteList<DeliveryRow>(webhookKeys.deliveries(endpointId), `${path(endpointId)}/deliveries`, {}, { limit });
}

function useWebhookMutation<V, R>(fn: (v: V) => Promise<R>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => qc.invalidateQueries({ queryKey: webhookKeys.all }) });
}

/** Answers the endpoint with its signing secret, shown this once. */
export function useCreateEndpoint() {
  return useWebhookMutation((body: EndpointCreate) => api<CreatedEndpoint>("/webhooks", { method: "POST", body }));
}

export function useUpdateEndpoint() {
  return useWebhookMutation(({ id, change }: { id: string; change: EndpointChange }) => api<WebhookEndpoint>(path(id), { method: "PATCH", body: change }));
}

export function useDeleteEndpoint() {
  return useWebhookMutation((id: string) => api<void>(path(id), { method: "DELETE" }));
}

/** Sends a signed webhook.test now; the delivery also appears in the endpoint's list. */
export function useSendTest() {
  return useWebhookMutation((id: string) => api<TestDeliveryOutcome>(`${path(id)}/test`, { method: "POST" }));
}
