/**
 * What the dispatcher reports about its own work as it happens: an in-process "attempt"
 * event after every saved attempt (the webhook tests listen). The webhook_deliveries and
 * webhook_attempts tables stay the record.
 */
import { EventEmitter } from "node:events";
import type { Delivery } from "../deliveries";
import type { AttemptResult } from "../send";

/** One finished attempt (in-process; the table is the record). */
export interface AttemptEvent {
  delivery: Delivery;
  result: AttemptResult;
  /** When this attempt started. */
  sent_at: string;
}

const eventsKey = Symbol.for("revenant.webhookEvents");
type WithEvents = typeof globalThis & { [eventsKey]?: EventEmitter<{ attempt: [AttemptEvent] }> };

/** Emits "attempt" after every attempt is saved. */
export function webhookEvents(): EventEmitter<{ attempt: [AttemptEvent] }> {
  const g = globalThis as WithEvents;
  g[eventsKey] ??= new EventEmitter<{ attempt: [AttemptEvent] }>();
  return g[eventsKey]!;
}
