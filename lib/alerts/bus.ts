/**
 * Notification that alerts changed, so that webhook delivery can start at once instead of
 * waiting for its next poll. Purely an accelerator: the durable record is alert_history,
 * which the dispatcher reads. Announced to every thread of the process (lib/threads/
 * broadcast.ts): detection (in the ingest thread in embedded mode) and analysts' changes (route
 * handlers, main thread) both wake the dispatcher, which runs beside ingest.
 */
import { threadsEmitter, type ThreadsEmitter } from "../threads/broadcast";
import type { AlertHistoryEntry } from "./store";

type AlertEvents = { changes: [AlertHistoryEntry[]] };

export function alertBus(): ThreadsEmitter<AlertEvents> {
  return threadsEmitter<AlertEvents>("alert-changes");
}

/** Wakes the webhook dispatcher, wherever it runs in this process. */
export function announceAlertChanges(changes: AlertHistoryEntry[]): void {
  alertBus().announce("changes", changes);
}
