/**
 * The actions mapped from tool-call spans, validated as schema-v1 events by the same rules as
 * every event (lib/events/schema.ts), before ingest stores them.
 *
 * Called by the OTLP consumer (ingest/decode-batch.ts, decodeActions) on the thread that stores
 * the events, as the events topic's messages are validated there.
 */
import { contentHash } from "../events/content-hash";
import { validateParsedEvent } from "../events/decode";
import type { StoredEvent } from "../events/schema";
import type { ReadyAction } from "./batch";

/** A valid action, ready for the events table but for its Kafka topic and partition. */
export interface ActionRow extends StoredEvent {
  /** SHA-256 of the action's JSON text: a span delivered again is a repeat, not a conflict (ingest/first-copies.ts). */
  content_hash: string;
  /** The export message the span came from; absent for a span that waited for its agent. */
  kafka_offset?: string;
}

export interface ValidatedActions {
  rows: ActionRow[];
  invalid: { action: ReadyAction; reason: string }[];
}

export function validateActions(actions: ReadyAction[], now: number = Date.now()): ValidatedActions {
  const out: ValidatedActions = { rows: [], invalid: [] };
  for (const action of actions) {
    let reason: string;
    try {
      // Mapped spans are nearly always plainly valid: they take the shortcut past zod's parse.
      const decoded = validateParsedEvent(JSON.parse(action.json), now);
      if (decoded.ok) {
        const row = decoded.event as ActionRow;
        row.content_hash = contentHash(action.json);
        if (action.offset !== undefined) row.kafka_offset = action.offset;
        out.rows.push(row);
        continue;
      }
      reason = decoded.reason;
    } catch (err) {
      reason = `decoder error: ${(err as Error).message}`;
    }
    out.invalid.push({ action, reason });
  }
  return out;
}

/** "trace/span" of an action's JSON text, naming its dead letter ('?' where it cannot be read). */
export function spanOfAction(json: string): string {
  try {
    const { trace_id, span_id } = JSON.parse(json) as { trace_id?: unknown; span_id?: unknown };
    return `${String(trace_id ?? "?")}/${String(span_id ?? "?")}`;
  } catch {
    return "?/?";
  }
}
