/**
 * The attempt state machine (docs/WEBHOOKS.md "Retries"): sign and send once, then move the
 * delivery on. pending → succeeded on a 2xx; pending → pending with an exponential backoff
 * (equal jitter) on a failure; → failed once REVENANT_WEBHOOK_RETRY_HOURS have passed since
 * the delivery was recorded. A test delivery ("testing") gets one attempt only.
 */
import type { LookupFunction } from "node:net";
import { Webhook } from "standardwebhooks";
import type { Config } from "../../config";
import type { Attempt, Delivery, DeliveryStore } from "../deliveries";
import { sendOnce, type AttemptResult } from "../send";
import type { Allowlist } from "../ssrf";

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** The Standard Webhooks headers for one attempt (signature over id, timestamp and body). */
function signedHeaders(d: Delivery, secret: string, ts: Date): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": "Revenant-Webhooks/1",
    "webhook-id": d.id,
    "webhook-timestamp": String(Math.floor(ts.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(d.id, ts, d.payload),
  };
}

/**
 * Why an attempt was not sent: the endpoint's secret could not be decrypted and is empty
 * (lib/webhooks/endpoints.ts, listWithSecrets), e.g. REVENANT_SECRET_KEY is not the key it was stored with.
 */
export const UNSIGNABLE = "not sent: the endpoint's signing secret cannot be decrypted (is REVENANT_SECRET_KEY the key it was stored with?)";

/** The delivery's state after an attempt that ended with `result` at `now`. */
export function nextState(d: Delivery, result: AttemptResult, sentAt: string, now: Date, cfg: Config, random?: () => number): Delivery {
  const attempts = d.attempts + 1;
  const next: Delivery = {
    ...d,
    attempts,
    first_sent_at: d.first_sent_at ?? sentAt,
    last_status_code: result.statusCode,
    last_error: result.error.slice(0, 500),
    last_duration_ms: result.durationMs,
  };
  if (result.ok) {
    next.status = "succeeded";
    next.delivered_at = now.toISOString();
  } else if (d.status === "testing") {
    next.status = "failed";
  } else if (now.getTime() - Date.parse(d.created_at) >= cfg.REVENANT_WEBHOOK_RETRY_HOURS * 3_600_000) {
    next.status = "failed";
  } else {
    next.status = "pending";
    next.next_attempt_at = new Date(now.getTime() + backoffMs(attempts, cfg.REVENANT_WEBHOOK_BACKOFF_BASE_MS, cfg.REVENANT_WEBHOOK_BACKOFF_MAX_MS, random)).toISOString();
  }
  return next;
}

/** Signs and sends one attempt, then saves the delivery's next state and the attempt. */
export async function attemptDelivery(
  d: Delivery,
  endpoint: { url: string; secret: string },
  cfg: Config,
  allow: Allowlist,
  deliveries: DeliveryStore,
  lookup?: LookupFunction,
  random?: () => number,
): Promise<{ next: Delivery; result: AttemptResult; sentAt: string }> {
  const ts = new Date();
  const sentAt = ts.toISOString();
  // An attempt that cannot be signed fails like one the receiver refused, so that it backs off
  // and gives up as any other: had it thrown, it would be tried again on every pass, and
  // sixteen of them held every dispatch slot while other endpoints' deliveries waited.
  const result = endpoint.secret
    ? await sendOnce({ url: endpoint.url, body: d.payload, timeoutMs: cfg.REVENANT_WEBHOOK_TIMEOUT_MS, allow, lookup, headers: signedHeaders(d, endpoint.secret, ts) })
    : { ok: false, statusCode: null, error: UNSIGNABLE, durationMs: 0, remoteAddress: null };
  const next = nextState(d, result, sentAt, new Date(), cfg, random);
  const attempt: Attempt = {
    endpoint_id: d.endpoint_id,
    delivery_id: d.id,
    attempt: next.attempts,
    at: sentAt,
    duration_ms: result.durationMs,
    status_code: result.statusCode,
    error: next.last_error,
    outcome: result.ok ? "succeeded" : "failed",
  };
  await deliveries.save(next, attempt);
  return { next, result, sentAt };
}
