/**
 * Webhook deliveries and their attempts (docs/WEBHOOKS.md, "Delivery and retries"). A delivery's id is its
 * webhook-id: derived from (endpoint, alert, change seq), so re-reading the outbox after
 * a crash recreates the very same delivery, and it stays the same across retries.
 */
import { createHash } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { decodeCursor, page } from "../http/cursor";
import { Conditions } from "../queries/conditions";
import { insertRows, queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";

export type DeliveryStatus = "pending" | "succeeded" | "failed" | "cancelled" | "testing";

export interface Delivery {
  endpoint_id: string;
  id: string;
  alert_id: string;
  seq: number;
  type: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  /** When the delivery was recorded (before the first attempt). */
  created_at: string;
  /** When the alert change it carries happened (alert_history.at). */
  change_at: string;
  next_attempt_at: string;
  first_sent_at: string | null;
  delivered_at: string | null;
  last_status_code: number | null;
  last_error: string;
  last_duration_ms: number | null;
}

export interface Attempt {
  endpoint_id: string;
  delivery_id: string;
  attempt: number;
  at: string;
  duration_ms: number;
  status_code: number | null;
  error: string;
  outcome: "succeeded" | "failed";
}

export function deliveryId(endpointId: string, alertId: string, seq: number | string): string {
  return "msg_" + createHash("sha256").update(`${endpointId}\n${alertId}\n${seq}`).digest("base64url").slice(0, 32);
}

const COLUMNS = `endpoint_id, id, alert_id, seq, type, payload, status, attempts, created_at, change_at, next_attempt_at,
  first_sent_at, delivered_at, last_status_code, last_error, last_duration_ms`;

export class DeliveryStore {
  constructor(
    private readonly reader: ClickHouseClient,
    private readonly writer: ClickHouseClient,
  ) {}

  /** Which of these delivery ids are already recorded. */
  async existing(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await queryRows<{ id: string }>(this.reader, "webhooks:existing", `SELECT DISTINCT id FROM webhook_deliveries WHERE id IN {ids:Array(String)}`, { ids });
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Records new deliveries. Their version is the change's seq, lower than any later state
   * (see save()), so recording the same delivery twice never rolls one back.
   */
  async record(deliveries: Delivery[]): Promise<void> {
    await insertRows(this.writer, "webhook_deliveries", deliveries.map((d) => ({ ...d, version: d.seq })), { comment: "webhooks:record" });
  }

  /** Writes a delivery's new state and the attempt that led to it. */
  async save(d: Delivery, attempt?: Attempt): Promise<void> {
    if (attempt) await insertRows(this.writer, "webhook_attempts", [attempt], { comment: "webhooks:attempt" });
    await insertRows(this.writer, "webhook_deliveries", [{ ...d, version: Math.max(nextVersion(), d.seq + 1) }], { comment: "webhooks:save" });
  }

  /**
   * The due deliveries, oldest due first: at most `limit`, at most `perEndpoint` of any one
   * endpoint, none of the `exclude`d deliveries nor of the `busy` endpoints, none recorded 29
   * days ago or more. The table's TTL removes a delivery's versions at 30 days merge by merge
   * (lib/store/migrations/105_webhook_delivery_ttl.sql): its first, pending version could
   * outlive the last one for a while, and be sent again. No delivery is retried that long
   * (REVENANT_WEBHOOK_RETRY_HOURS is at most 28 days).
   */
  async due(limit: number, exclude: string[], perEndpoint = limit, busy: string[] = []): Promise<Delivery[]> {
    return queryRows<Delivery>(
      this.reader,
      "webhooks:due",
      `SELECT ${COLUMNS} FROM webhook_deliveries FINAL
       WHERE status = 'pending' AND next_attempt_at <= now64(3) AND id NOT IN {exclude:Array(String)} AND endpoint_id NOT IN {busy:Array(String)}
         AND created_at > now64(3) - INTERVAL 29 DAY
       ORDER BY next_attempt_at LIMIT {perEndpoint:UInt32} BY endpoint_id LIMIT {limit:UInt32}`,
      { limit, exclude, perEndpoint, busy },
    );
  }

  /** The earliest pending retry, to set a wake-up timer. */
  async nextDueAt(): Promise<number | null> {
    const rows = await queryRows<{ t: string | null }>(
      this.reader,
      "webhooks:nextDue",
      `SELECT min(next_attempt_at) AS t FROM webhook_deliveries FINAL WHERE status = 'pending' HAVING count() > 0`,
    );
    return rows[0]?.t ? Date.parse(rows[0].t) : null;
  }

  async get(id: string): Promise<Delivery | null> {
    const rows = await queryRows<Delivery>(this.reader, "webhooks:delivery", `SELECT ${COLUMNS} FROM webhook_deliveries FINAL WHERE id = {id:String}`, { id });
    return rows[0] ?? null;
  }

  /** Deliveries of one endpoint, newest first, each with its attempts. */
  async listForEndpoint(
    endpointId: string,
    limit: number,
    cursor?: string,
  ): Promise<{ items: (Omit<Delivery, "payload"> & { attempt_log: Omit<Attempt, "endpoint_id" | "delivery_id">[] })[]; next_cursor: string | null }> {
    const c = new Conditions().add("endpoint_id = {ep:String}", { ep: endpointId }).before("created_at", "id", decodeCursor(cursor));
    const rows = await queryRows<Delivery>(
      this.reader,
      "webhooks:deliveries",
      `SELECT ${COLUMNS} FROM webhook_deliveries FINAL ${c.where} ORDER BY created_at DESC, id DESC LIMIT {limit:UInt32}`,
      { ...c.params, limit: limit + 1 },
    );
    const { items: deliveries, next_cursor } = page(rows, limit, (d) => ({ t: d.created_at, id: d.id }));
    const attempts = deliveries.length
      ? await queryRows<Attempt>(
          this.reader,
          "webhooks:attempts",
          `SELECT endpoint_id, delivery_id, attempt, at, duration_ms, status_code, error, outcome FROM webhook_attempts
           WHERE endpoint_id = {ep:String} AND delivery_id IN {ids:Array(String)} ORDER BY at`,
          { ep: endpointId, ids: deliveries.map((d) => d.id) },
        )
      : [];
    const byDelivery = new Map<string, Omit<Attempt, "endpoint_id" | "delivery_id">[]>();
    for (const a of attempts) {
      const { endpoint_id: _e, delivery_id, ...rest } = a;
      byDelivery.set(delivery_id, [...(byDelivery.get(delivery_id) ?? []), rest]);
    }
    const items = deliveries.map(({ payload: _p, ...d }) => ({ ...d, attempt_log: byDelivery.get(d.id) ?? [] }));
    return { items, next_cursor };
  }
}
