/**
 * In-process notification that alerts changed, so that webhook delivery can start at
 * once instead of waiting for its next poll. Purely an accelerator: the durable record
 * is alert_history, which the dispatcher reads.
 */
import { EventEmitter } from "node:events";
import type { AlertHistoryEntry } from "./store";

const key = Symbol.for("revenant.alertBus");
type WithBus = typeof globalThis & { [key]?: EventEmitter };

export function alertBus(): EventEmitter<{ changes: [AlertHistoryEntry[]] }> {
  const g = globalThis as WithBus;
  g[key] ??= new EventEmitter();
  return g[key]! as EventEmitter<{ changes: [AlertHistoryEntry[]] }>;
}
