/**
 * A shortcut past zod for the one shape the OpenTelemetry intake produces in bulk: an action
 * whose every field is plainly within schema v1's bounds (lib/events/schema.ts) is normalised
 * as validateEvent would store it, without the schema's parse. Anything this check does not
 * recognise — an unexpected field, a type, a bound, a time outside the accepted window —
 * returns null, and the caller asks validateEvent, which decides and gives the reason. So the
 * shortcut can only accept less than the schema, never more, and what it stores is built by
 * the schema's own normalise(). The strings' length bounds and the id patterns are the
 * schema's own (STRING_FIELD_LENGTHS, TRACE_ID_PATTERN, SPAN_ID_PATTERN), not copies.
 *
 * Why: zod's parse was the largest single cost of an OTLP tool span on the thread that also
 * stores events and runs detection, 7–9 µs of 13–18 (npm run bench:otlp;
 * docs/BENCHMARKS.md). test/unit/plain-action.test.ts holds the shortcut equal to validateEvent over
 * generated and hostile actions.
 */
import { protoKeyAt, malformedStringAt } from "./field-safety";
import {
  DECISIONS,
  MAX_EPOCH_MS,
  MAX_FUTURE_SKEW_MS,
  MIN_EVENT_TIME_MS,
  normalise,
  SPAN_ID_PATTERN,
  STRING_FIELD_LENGTHS,
  TRACE_ID_PATTERN,
  type StoredEvent,
  type TelemetryEvent,
} from "./schema";

/** The fields an action must have, not empty (the schema's superRefine for type action). */
const REQUIRED = ["event_id", "type", "time", "agent_id", "layer", "action"];
/**
 * The string fields the shortcut checks, with the schema's own bounds (STRING_FIELD_LENGTHS);
 * a required field must not be empty besides.
 */
const PLAIN_STRINGS: ReadonlyMap<string, { min: number; max: number }> = new Map(
  ["event_id", "agent_id", "layer", "action", "pipeline_id", "session_id", "credential_id", "source", "resource"].map((field) => {
    const { min, max } = STRING_FIELD_LENGTHS[field];
    return [field, { min: REQUIRED.includes(field) ? Math.max(1, min) : min, max }];
  }),
);

function plainAttributes(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  for (const k in v) {
    const a = (v as Record<string, unknown>)[k];
    if (typeof a !== "string" && typeof a !== "boolean" && !(typeof a === "number" && Number.isFinite(a))) return false;
  }
  return true;
}

/** The stored action, or null when validateEvent must decide. `value` is a JSON.parse result. */
export function plainActionOrNull(value: unknown, now: number): StoredEvent | null {
  if (typeof value !== "object" || value === null || Array.isArray(value) || protoKeyAt(value)) return null;
  const e = value as Record<string, unknown>;
  for (const k in e) {
    const v = e[k];
    switch (k) {
      case "type":
        if (v !== "action") return null;
        break;
      case "time":
        // Integer epoch milliseconds inside the accepted window; RFC 3339 strings take the schema's path.
        if (typeof v !== "number" || !Number.isInteger(v) || v < MIN_EVENT_TIME_MS || v > MAX_EPOCH_MS || v > now + MAX_FUTURE_SKEW_MS) return null;
        break;
      case "decision":
        if (!(DECISIONS as readonly unknown[]).includes(v)) return null;
        break;
      case "trace_id":
        if (typeof v !== "string" || !TRACE_ID_PATTERN.test(v)) return null;
        break;
      case "span_id":
        if (typeof v !== "string" || !SPAN_ID_PATTERN.test(v)) return null;
        break;
      case "attributes":
        if (!plainAttributes(v)) return null;
        break;
      default: {
        const bounds = PLAIN_STRINGS.get(k);
        if (!bounds || typeof v !== "string" || v.length < bounds.min || v.length > bounds.max) return null;
      }
    }
  }
  if (REQUIRED.some((field) => e[field] === undefined)) return null;
  const event = normalise(value as TelemetryEvent);
  return malformedStringAt(event) ? null : event;
}
