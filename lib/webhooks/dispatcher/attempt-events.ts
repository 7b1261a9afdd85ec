/**
 * What the dispatcher reports about its own work as it happens: an "attempt" event after
 * every saved attempt (the webhook tests listen), announced to every thread of the process
 * (the dispatcher runs in the ingest thread in embedded mode, lib/threads/broadcast.ts). The
 * webhook_deliveries and webhook_attempts tables stay the record.
 */
import { threadsEmitter, type ThreadsEmitter } from "../../threads/broadcast";
import type { Delivery } from "../deliveries";
import type { AttemptResult } from "../send";

/** One finished attempt (in-process; the table is the record). */
export interface AttemptEvent {
  delivery: Delivery;
  result: AttemptResult;
  /** When this attempt started. */
  sent_at: string;
}

type AttemptEvents = { attempt: [AttemptEvent] };

/** Announces "attempt" after every attempt is saved. */
export function webhookEvents(): ThreadsEmitter<AttemptEvents> {
  return threadsEmitter<AttemptEvents>("webhook-attempts");
}
