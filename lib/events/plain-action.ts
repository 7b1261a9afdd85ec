/**
 * A shortcut past zod for the shape nearly every event has: an action whose every field is
 * plainly within schema v1's bounds (lib/events/schema.ts) is normalised as validateEvent
 * would store it, without the schema's parse. Anything this check does not recognise — an
 * unexpected field, a type, a bound, a time outside the accepted window — returns null, and
 * the caller asks validateEvent, which decides and gives the reason. So the shortcut can only
 * accept less than the schema, never more, and what it stores is built by the schema's own
 * normalise(). The strings' length bounds, the id and time patterns and the time checks are
 * the schema's own (STRING_FIELD_LENGTHS, TRACE_ID_PATTERN, SPAN_ID_PATTERN, RFC3339,
 * calendarOutOfRange), not copies.
 *
 * Why: zod's parse was the largest single cost of an event on the thread that also stores
 * events and runs detection: 7–9 µs of an OTLP tool span's 13–18, and ~4 µs of a Kafka
 * event's ~6. Its code also slows down for every event once events of other types pass
 * through it: with 2% control events among actions, decoding cost 7.4 µs per message instead
 * of 5.8, and phase B of bench:scale allocated 40% more in zod than phase A for the same
 * actions (docs/BENCHMARKS.md). test/unit/plain-action.test.ts holds the shortcut equal to
 * validateEvent over generated and hostile actions.
 */
import { protoKeyAt, malformedStringAt } from "./field-safety";
import {
  DECISIONS,
  MAX_EPOCH_MS,
  MAX_FUTURE_SKEW_MS,
  MIN_EVENT_TIME_MS,
  normalise,
  RFC3339,
  SENSITIVITIES,
  SPAN_ID_PATTERN,
  STRING_FIELD_LENGTHS,
  TRACE_ID_PATTERN,
  calendarOutOfRange,
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
      case "time": {
        // Integer epoch milliseconds, or RFC 3339 text whose calendar fields are real, inside
        // the window validateEvent applies. The text's Date.parse is the stored time's:
        // normalise() keeps its millisecond.
        const ms =
          typeof v === "number" ? (Number.isInteger(v) ? v : NaN) : typeof v === "string" && RFC3339.test(v) && !calendarOutOfRange(v) ? Date.parse(v) : NaN;
        if (!(ms >= MIN_EVENT_TIME_MS && ms <= MAX_EPOCH_MS && ms <= now + MAX_FUTURE_SKEW_MS)) return null;
        break;
      }
      case "decision":
        if (!(DECISIONS as readonly unknown[]).includes(v)) return null;
        break;
      case "sensitivity":
        if (!(SENSITIVITIES as readonly unknown[]).includes(v)) return null;
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
