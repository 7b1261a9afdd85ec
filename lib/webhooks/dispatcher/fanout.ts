/**
 * Fan-out (docs/WEBHOOKS.md "Events"): each alert change from the outbox becomes one
 * delivery per enabled endpoint whose filters match the alert, recorded in
 * webhook_deliveries before anything is sent. Delivery ids are derived from (endpoint,
 * alert, change seq), so re-reading a change (lookback, restart) records nothing twice.
 */
import type { Alert, AlertChangeKind, AlertHistoryEntry, AlertStore } from "../../alerts/store";
import { deliveryId, type Delivery, type DeliveryStore } from "../deliveries";
import { endpointMatches, type EndpointWithSecret } from "../endpoints";

export type WebhookEventType = "alert.created" | "alert.updated" | "alert.resolved";

/** One row of the outbox (alert_history). */
export interface OutboxRow {
  alert_id: string;
  at: string;
  seq: number;
  kind: AlertChangeKind;
}

/** The event type sent for an alert_history kind; null: not sent (a withdrawn alert no longer exists). */
export function eventTypeFor(kind: AlertChangeKind | string): WebhookEventType | null {
  if (kind === "raised") return "alert.created";
  if (kind === "resolved") return "alert.resolved";
  if (kind === "withdrawn") return null;
  return "alert.updated";
}

const STATUS_KINDS = new Set<string>(["acknowledged", "resolved", "reopened"]);

/**
 * Whether a change took effect, judged by the alert's current row (as of the change or later)
 * and, for a status change followed by another, the alert's status changes (`history`,
 * oldest first; read only then). A change's
 * history row is written before its alert row (lib/alerts/store.ts, write()), so a failed or
 * interrupted second insert leaves in the outbox a change that never happened:
 * - a raise whose alert row was never written and that the retry raised again: the alert was
 *   created by the later raise, not by this one;
 * - a status change whose alert row was never written (an analyst's PATCH that failed): the
 *   alert's status_changed_at is older than the change, or, when a later status change moved
 *   it on, that later change started from another status than this one set.
 * Such a change is not sent: it would be a second `alert.created` under another webhook-id, or
 * an `alert.resolved` of an alert that stayed open.
 */
export function tookEffect(change: OutboxRow, alert: Pick<Alert, "created_at" | "status_changed_at">, history: AlertHistoryEntry[]): boolean {
  const at = Date.parse(change.at);
  if (change.kind === "raised") return Date.parse(alert.created_at) === at;
  if (!STATUS_KINDS.has(change.kind)) return true;
  if (!followedByStatusChange(change, alert)) return Date.parse(alert.status_changed_at) === at;
  const own = history.findIndex((h) => Number(h.seq) === Number(change.seq));
  const next = history[own + 1];
  return own < 0 || !next || next.from_status === history[own].to_status;
}

/** Whether a later status change moved the alert on since this status change: only its status history then tells whether this one took effect. */
function followedByStatusChange(change: OutboxRow, alert: Pick<Alert, "status_changed_at">): boolean {
  return STATUS_KINDS.has(change.kind) && Date.parse(alert.status_changed_at) > Date.parse(change.at);
}

/** A new pending delivery of `payload` to one endpoint, due now. */
export function newDelivery(fields: Pick<Delivery, "endpoint_id" | "id" | "alert_id" | "seq" | "type" | "payload" | "change_at">, now: string, status: Delivery["status"] = "pending"): Delivery {
  return {
    ...fields,
    status,
    attempts: 0,
    created_at: now,
    next_attempt_at: now,
    first_sent_at: null,
    delivered_at: null,
    last_status_code: null,
    last_error: "",
    last_duration_ms: null,
  };
}

/**
 * Records the deliveries for `changes`; returns how many were new, and the changes whose
 * alert could not be read as of that change. The alert store writes a change to alert_history
 * before the alert row itself, both with one version (lib/alerts/store.ts), so a pass can see
 * a change whose alert row is not written yet: absent (a new alert), or an older version, whose
 * figures (counts, last violation) are not the change's. Such a change is left for a later
 * pass, never dropped nor sent with the old figures. (An alert withdrawn since has no row
 * either; its changes are tried again only while they are within the outbox lookback.) A
 * change that never took effect (tookEffect) is handled without a delivery.
 */
export async function fanOut(
  changes: OutboxRow[],
  endpoints: EndpointWithSecret[],
  alerts: AlertStore,
  deliveries: DeliveryStore,
): Promise<{ recorded: number; unresolved: OutboxRow[] }> {
  const enabled = endpoints.filter((e) => e.enabled);
  const sendable = changes.filter((c) => eventTypeFor(c.kind) !== null);
  const unresolved: OutboxRow[] = [];
  if (enabled.length === 0 || sendable.length === 0) return { recorded: 0, unresolved };
  const current = await alerts.currentWithVersions([...new Set(sendable.map((c) => c.alert_id))]);
  // Read only for status changes that a later status change followed (rare): see tookEffect.
  const followed = sendable.filter((c) => {
    const stored = current.get(c.alert_id);
    return stored !== undefined && followedByStatusChange(c, stored.alert);
  });
  const history = new Map<string, AlertHistoryEntry[]>();
  for (const h of await alerts.statusChanges([...new Set(followed.map((c) => c.alert_id))])) {
    const list = history.get(h.alert_id);
    if (list) list.push(h);
    else history.set(h.alert_id, [h]);
  }
  const now = new Date().toISOString();
  const candidates: Delivery[] = [];
  for (const change of sendable) {
    const stored = current.get(change.alert_id);
    if (!stored || stored.version < Number(change.seq)) {
      unresolved.push(change);
      continue;
    }
    const { alert } = stored;
    if (!tookEffect(change, alert, history.get(change.alert_id) ?? [])) continue;
    const type = eventTypeFor(change.kind)!;
    const payload = JSON.stringify({ type, timestamp: change.at, alert });
    for (const e of enabled) {
      if (!endpointMatches(e, alert)) continue;
      const id = deliveryId(e.id, change.alert_id, change.seq);
      candidates.push(newDelivery({ endpoint_id: e.id, id, alert_id: change.alert_id, seq: Number(change.seq), type, payload, change_at: change.at }, now));
    }
  }
  const known = await deliveries.existing(candidates.map((d) => d.id));
  const fresh = candidates.filter((d) => !known.has(d.id));
  await deliveries.record(fresh);
  return { recorded: fresh.length, unresolved };
}
