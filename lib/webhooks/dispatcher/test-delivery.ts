/**
 * "Send test" (docs/WEBHOOKS.md "Test deliveries"): a signed `webhook.test` event carrying a
 * sample alert, recorded as a delivery of the endpoint and attempted once, now (no retries).
 */
import type { LookupFunction } from "node:net";
import { config } from "../../config";
import { nextVersion } from "../../store/version";
import { deliveryId, type Delivery, type DeliveryStore } from "../deliveries";
import type { EndpointWithSecret } from "../endpoints";
import type { AttemptResult } from "../send";
import { parseAllowlist } from "../ssrf";
import { attemptDelivery } from "./attempt";
import { newDelivery } from "./fanout";

/** What POST /api/v1/webhooks/{id}/test answers. */
export interface TestDeliveryOutcome {
  delivery_id: string;
  ok: boolean;
  status_code: number | null;
  error: string;
  duration_ms: number;
}

/** The alert a test delivery carries: shaped like a real one, plainly named as a test. */
export function sampleAlert(now: string) {
  return {
    id: "alert_test",
    rule: "post_revocation_activity",
    severity: "critical",
    status: "open",
    revocation_id: "evt_test_revocation",
    agent_id: "agent-test",
    pipeline_id: null,
    layers_enforcing: ["gateway"],
    layers_leaking: ["tool"],
    violation_count: 1,
    first_violation_at: now,
    last_violation_at: now,
    sample_event_ids: ["evt_test_action"],
    created_at: now,
    updated_at: now,
  };
}

export async function sendTestDelivery(
  deliveries: DeliveryStore,
  endpoint: EndpointWithSecret,
  opts: { lookup?: LookupFunction } = {},
): Promise<{ delivery: Delivery; result: AttemptResult }> {
  const cfg = config();
  const seq = nextVersion();
  const now = new Date().toISOString();
  const payload = JSON.stringify({ type: "webhook.test", timestamp: now, alert: sampleAlert(now) });
  const d = newDelivery({ endpoint_id: endpoint.id, id: deliveryId(endpoint.id, "test", seq), alert_id: "", seq, type: "webhook.test", payload, change_at: now }, now, "testing");
  await deliveries.record([d]);
  const { next, result } = await attemptDelivery(d, endpoint, cfg, parseAllowlist(cfg.REVENANT_WEBHOOK_ALLOWLIST), deliveries, opts.lookup);
  return { delivery: next, result };
}

export function testOutcome(delivery: Delivery, result: AttemptResult): TestDeliveryOutcome {
  return { delivery_id: delivery.id, ok: result.ok, status_code: result.statusCode, error: result.error, duration_ms: result.durationMs };
}
