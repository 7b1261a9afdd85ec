/**
 * A shortcut past zod for the one shape the OpenTelemetry intake produces in bulk: an action
 * whose every field is plainly within schema v1's bounds (lib/events/schema.ts) is normalised
 * as validateEvent would store it, without the schema's parse. Anything this check does not
 * recognise — an unexpected field, a type, a bound, a time outside the accepted window —
 * returns null, and the caller asks validateEvent, which decides and gives the reason. So the
 * shortcut can only accept less than the schema, never more, and what it stores is built by
 * the schema's own normalise().
 *
 * Why: zod's parse was the largest single cost of an OTLP tool span on the thread that also
 * stores events and runs detection, 7–9 µs of 13–18 (npm run bench:otlp; README.md, "Known
 * limits"). test/unit/plain-action.test.ts holds the shortcut equal to validateEvent over
 * generated and hostile actions.
 */
import { protoKeyAt, malformedStringAt } from "./field-safety";
import { DECISIONS, MAX_EPOCH_MS, MAX_FUTURE_SKEW_MS, MIN_EVENT_TIME_MS, normalise, type StoredEvent, type TelemetryEvent } from "./schema";

const HEX_64 = /^[0-9a-fA-F]{1,64}$/;
const HEX_32 = /^[0-9a-fA-F]{1,32}$/;

/** The fields the shortcut knows, with the longest value schema v1 allows for each optional string. */
const OPTIONAL_STRINGS: Record<string, number> = {
  pipeline_id: 256,
  session_id: 256,
  credential_id: 256,
  source: 256,
  resource: 2048,
};

const isString = (v: unknown, min: number, max: number): v is string => typeof v === "string" && v.length >= min && v.length <= max;

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
      case "event_id":
        if (!isString(v, 1, 128)) return null;
        break;
      case "type":
        if (v !== "action") return null;
        break;
      case "time":
        // Integer epoch milliseconds inside the accepted window; RFC 3339 strings take the schema's path.
        if (typeof v !== "number" || !Number.isInteger(v) || v < MIN_EVENT_TIME_MS || v > MAX_EPOCH_MS || v > now + MAX_FUTURE_SKEW_MS) return null;
        break;
      case "agent_id":
        if (!isString(v, 1, 256)) return null;
        break;
      case "layer":
        if (!isString(v, 1, 64)) return null;
        break;
      case "action":
        if (!isString(v, 1, 128)) return null;
        break;
      case "decision":
        if (!(DECISIONS as readonly unknown[]).includes(v)) return null;
        break;
      case "trace_id":
        if (typeof v !== "string" || !HEX_64.test(v)) return null;
        break;
      case "span_id":
        if (typeof v !== "string" || !HEX_32.test(v)) return null;
        break;
      case "attributes":
        if (!plainAttributes(v)) return null;
        break;
      default:
        if (!Object.hasOwn(OPTIONAL_STRINGS, k) || !isString(v, 0, OPTIONAL_STRINGS[k])) return null;
    }
  }
  // Required for an action (the schema's superRefine): present and not empty, which isString checked.
  if (e.event_id === undefined || e.type === undefined || e.time === undefined || e.agent_id === undefined || e.layer === undefined || e.action === undefined) return null;
  const event = normalise(value as TelemetryEvent);
  return malformedStringAt(event) ? null : event;
}
