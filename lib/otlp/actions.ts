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
import { ownAgent, spanRole, toolAction, type OtlpMapping } from "./map";
import type { SpanRecord } from "./spans";

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

/**
 * An action's text without the export it came in (lib/otlp/map.ts, `otel.export_id`): that
 * names where the span was stored, not what it says. An export sent again (an exporter's retry
 * after a lost answer) lands at another offset; its actions must hash alike to be recognised
 * as repeats, not kept aside as conflicting copies (docs/INTAKES.md).
 */
function withoutExportId(json: string, exportId: string | undefined): string {
  if (!exportId) return json;
  const field = `"otel.export_id":${JSON.stringify(exportId)}`;
  return json.includes(`${field},`) ? json.replace(`${field},`, "") : json.replace(`,${field}`, "");
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
        row.content_hash = contentHash(withoutExportId(action.json, row.attributes?.["otel.export_id"]));
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

/** Stands in for the agent of a tool span that leaves it to an ancestor, so that the rest of its action can be checked. */
const AGENT_FROM_ANCESTOR = "agent-from-ancestor";

/**
 * Why each tool span among `spans` cannot become an action, by the same mapping and validation
 * the OTLP consumer applies (one reason per refused span): what OTLP/HTTP's answer reports as
 * rejected spans (app/v1/traces/route.ts). The consumer dead-letters those spans, with these
 * reasons, when the export reaches it. A span waiting for its agent is checked with a stand-in
 * agent: only an ancestor can tell whether it will have one.
 */
export function refusedToolSpans(spans: SpanRecord[], mapping: OtlpMapping, now: number = Date.now()): string[] {
  const refusals: string[] = [];
  for (const s of spans) {
    if (spanRole(s) !== "tool") continue;
    // Through JSON text, as the consumer validates it: fields left undefined are absent.
    const action = JSON.parse(JSON.stringify(toolAction(s, mapping, ownAgent(s) || AGENT_FROM_ANCESTOR)));
    const decoded = validateParsedEvent(action, now);
    if (!decoded.ok) refusals.push(`tool span ${s.traceId}/${s.spanId}: ${decoded.reason}`);
  }
  return refusals;
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
