/**
 * What the dispatcher reports about its own timing: an in-process "attempt" event after
 * every saved attempt (tests and the latency benchmark listen), and the recorded timings
 * of deliveries. The webhook_deliveries table stays the record; these are views of it.
 */
import { EventEmitter } from "node:events";
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows } from "../../store/clickhouse";
import type { Delivery } from "../deliveries";
import type { AttemptResult } from "../send";

/** One finished attempt, for benchmarks and tests (in-process; the table is the record). */
export interface AttemptEvent {
  delivery: Delivery;
  result: AttemptResult;
  /** When this attempt started. */
  sent_at: string;
}

const eventsKey = Symbol.for("revenant.webhookEvents");
type WithEvents = typeof globalThis & { [eventsKey]?: EventEmitter<{ attempt: [AttemptEvent] }> };

/** Emits "attempt" after every attempt is saved: the latency benchmark listens here. */
export function webhookEvents(): EventEmitter<{ attempt: [AttemptEvent] }> {
  const g = globalThis as WithEvents;
  g[eventsKey] ??= new EventEmitter<{ attempt: [AttemptEvent] }>();
  return g[eventsKey]!;
}

export interface DeliveryTiming {
  id: string;
  endpoint_id: string;
  alert_id: string;
  type: string;
  status: string;
  attempts: number;
  change_at: string;
  created_at: string;
  first_sent_at: string | null;
  delivered_at: string | null;
  last_duration_ms: number | null;
}

/**
 * Timings of deliveries recorded since `since` (for the latency benchmark): change_at (the
 * alert change), created_at (recorded), first_sent_at, delivered_at (2xx received).
 */
export async function deliveryTimings(client: ClickHouseClient, since: Date): Promise<DeliveryTiming[]> {
  return queryRows<DeliveryTiming>(
    client,
    "webhooks:timings",
    `SELECT id, endpoint_id, alert_id, type, status, attempts, change_at, created_at, first_sent_at, delivered_at, last_duration_ms
     FROM webhook_deliveries FINAL WHERE created_at >= {since:DateTime64(3, 'UTC')} ORDER BY created_at`,
    { since: since.toISOString().replace("T", " ").replace("Z", "") },
  );
}
