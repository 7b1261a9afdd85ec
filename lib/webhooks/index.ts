/** Signed webhooks (SPEC §5): endpoints, deliveries, the dispatcher, SSRF protection. */
export { WebhookDispatcher, webhookEvents, sendTestDelivery, deliveryTimings, eventTypeFor, backoffMs, type AttemptEvent, type DeliveryTiming } from "./dispatcher";
export { EndpointStore, endpointInput, endpointPatch, endpointMatches, withoutSecret, type Endpoint, type EndpointWithSecret } from "./endpoints";
export { DeliveryStore, deliveryId, type Delivery, type Attempt } from "./deliveries";
export { parseAllowlist, vetUrl, isPublicAddress, addressAllowed, SsrfError } from "./ssrf";
export { sendOnce, type AttemptResult } from "./send";
