/**
 * Telemetry event schema v1 (docs/EVENTS.md) and its normalisation into the stored row shape.
 *
 * One schema serves the Kafka consumer, POST /api/v1/events and the demo generator,
 * so an event accepted at the HTTP edge is accepted by the consumer too.
 */
import { z } from "zod";
import { malformedStringAt, protoKeyAt } from "./field-safety";

export const EVENT_TYPES = [
  "action",
  "revocation",
  "reinstatement",
  "credential_issued",
  "session_start",
  "session_end",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const REVOCATION_SCOPES = ["agent", "session", "credential", "pipeline"] as const;
export type RevocationScope = (typeof REVOCATION_SCOPES)[number];

export const DECISIONS = ["allow", "deny", "unknown"] as const;
export type Decision = (typeof DECISIONS)[number];

export const SENSITIVITIES = ["low", "medium", "high", "critical"] as const;
export type Sensitivity = (typeof SENSITIVITIES)[number];

/** Events more than this far in the future are dead-lettered (docs/EVENTS.md, "Dead letters"). */
export const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;
/**
 * Events before this are dead-lettered (docs/SEMANTICS.md, "Event time bounds"): no agent telemetry is
 * that old, so such a time is a producer's bug (an epoch of 0, seconds sent as milliseconds),
 * and storing it would open a partition per stray month.
 */
export const MIN_EVENT_TIME_MS = Date.UTC(2000, 0, 1);
/** Messages larger than this are dead-lettered (docs/EVENTS.md, "Dead letters"). */
export const MAX_EVENT_BYTES = 1024 * 1024;

// RFC 3339 with an explicit offset (Z or ±hh:mm), fractional seconds optional.
export const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Latest time stored (DateTime64(3) ends in 2299); also keeps Date arithmetic finite. */
export const MAX_EPOCH_MS = Date.UTC(2299, 11, 31, 23, 59, 59, 999);

// The regex checks the shape only: "2026-13-45T00:00:00Z" has it, so the value must also be
// a real date (its month, day and hour in range) within what the table can store.
const eventTime = z.union([
  z
    .string()
    .regex(RFC3339, "must be RFC 3339 with an offset, e.g. 2026-01-01T12:00:00.000Z")
    .superRefine((v, ctx) => {
      const problem = timeProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  z.number().int("epoch milliseconds must be an integer").nonnegative().max(MAX_EPOCH_MS, "is after the year 2299"),
]);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number the decimal digits of v[from, to) spell (the caller knows they are digits). */
function digitsAt(v: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + v.charCodeAt(i) - 48;
  return n;
}

/**
 * Whether the calendar fields of an RFC 3339-shaped string are out of range. Date.parse
 * accepts some impossible dates (Feb 30 rolls over to Mar 2), so they are checked directly;
 * the regex guarantees their positions. On the hot path: no allocation.
 */
export function calendarOutOfRange(v: string): boolean {
  const y = digitsAt(v, 0, 4), mo = digitsAt(v, 5, 7), d = digitsAt(v, 8, 10);
  const h = digitsAt(v, 11, 13), mi = digitsAt(v, 14, 16), sec = digitsAt(v, 17, 19);
  const leap = mo === 2 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0);
  return mo < 1 || mo > 12 || d < 1 || d > DAYS_IN_MONTH[mo - 1] + (leap ? 1 : 0) || h > 23 || mi > 59 || sec > 60;
}

/** Why an RFC 3339-shaped string is still not a time we can store, or null. */
function timeProblem(v: string): string | null {
  if (calendarOutOfRange(v)) return "not a valid date (month, day or time out of range)";
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) return "not a valid date";
  if (ms > MAX_EPOCH_MS) return "is after 2299-12-31, the latest time stored";
  return null;
}

/** The hex ids an event may carry (trace_id, span_id). */
export const TRACE_ID_PATTERN = /^[0-9a-fA-F]{1,64}$/;
export const SPAN_ID_PATTERN = /^[0-9a-fA-F]{1,32}$/;

const str = (max: number) => z.string().max(max);
const optionalId = (max: number) => str(max).optional();

const revocationObject = z.object({
  scope: z.enum(REVOCATION_SCOPES),
  subject: z.string().min(1).max(256),
  reason: z.string().max(4096).optional(),
  cascade: z.boolean().optional(),
  initiated_by: z.string().max(256).optional(),
});

const credentialObject = z.object({
  id: z.string().min(1).max(256),
  kind: z.string().max(64).optional(),
  parent_id: z.string().min(1).max(256).optional().nullable(),
  expires_at: eventTime.optional().nullable(),
});

const attributeValue = z.union([z.string(), z.number(), z.boolean()]);

const eventObject = z
  .object({
    event_id: z.string().min(1).max(128),
    type: z.enum(EVENT_TYPES),
    time: eventTime,
    agent_id: optionalId(256),
    pipeline_id: optionalId(256),
    session_id: optionalId(256),
    credential_id: optionalId(256),
    layer: optionalId(64),
    source: optionalId(256),
    action: optionalId(128),
    resource: optionalId(2048),
    decision: z.enum(DECISIONS).optional(),
    sensitivity: z.enum(SENSITIVITIES).optional(),
    trace_id: z.string().regex(TRACE_ID_PATTERN, "must be hex").optional(),
    span_id: z.string().regex(SPAN_ID_PATTERN, "must be hex").optional(),
    revocation: revocationObject.optional(),
    credential: credentialObject.optional(),
    attributes: z.record(z.string(), attributeValue).optional(),
  })
  // Unknown top-level fields are kept (docs/EVENTS.md: never fatal); normalise() folds them into attributes.
  .passthrough();

/**
 * The length bounds of schema v1's top-level string fields, read from the schema itself, for
 * the shortcut that checks plain actions without parsing (lib/events/plain-action.ts).
 */
export const STRING_FIELD_LENGTHS: Readonly<Record<string, { min: number; max: number }>> = Object.fromEntries(
  Object.entries(eventObject.shape).flatMap(([field, schema]) => {
    const inner = schema instanceof z.ZodOptional ? schema.unwrap() : schema;
    return inner instanceof z.ZodString ? [[field, { min: inner.minLength ?? 0, max: inner.maxLength ?? Infinity }]] : [];
  }),
);

export const telemetryEventSchema = eventObject.superRefine((e, ctx) => {
    const need = (field: keyof typeof e, why: string) => {
      if (e[field] === undefined || e[field] === "") {
        ctx.addIssue({ code: "custom", path: [field as string], message: `required for ${why}` });
      }
    };
    if (e.type === "action") {
      need("agent_id", "type action");
      need("layer", "type action");
      need("action", "type action");
    }
    if (e.type === "credential_issued") {
      need("agent_id", "type credential_issued");
      need("credential", "type credential_issued");
    }
    if (e.type === "session_start" || e.type === "session_end") need("agent_id", `type ${e.type}`);
    if (e.type === "revocation" || e.type === "reinstatement") need("revocation", `type ${e.type}`);
  });

export type TelemetryEvent = z.infer<typeof telemetryEventSchema>;

/**
 * The stored row: flat, every optional string '' when absent (ClickHouse String columns,
 * no Nullable overhead), times as ISO-8601 UTC with milliseconds.
 */
export interface StoredEvent {
  event_id: string;
  type: EventType;
  time: string;
  agent_id: string;
  pipeline_id: string;
  session_id: string;
  credential_id: string;
  layer: string;
  source: string;
  action: string;
  resource: string;
  decision: Decision | "";
  sensitivity: Sensitivity | "";
  trace_id: string;
  span_id: string;
  rev_scope: RevocationScope | "";
  rev_subject: string;
  rev_reason: string;
  rev_cascade: boolean;
  rev_initiated_by: string;
  cred_id: string;
  cred_kind: string;
  cred_parent_id: string;
  cred_expires_at: string | null;
  attributes: Record<string, string>;
}

// Already canonical (UTC, 3 fractional digits): the common case, kept as is without a Date round trip.
const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function toIsoMillis(time: string | number): string {
  if (typeof time === "string" && CANONICAL_UTC.test(time)) return time;
  const ms = typeof time === "number" ? time : Date.parse(time);
  return new Date(ms).toISOString();
}

const KNOWN_FIELDS = new Set(Object.keys(eventObject.shape));

export function normalise(e: TelemetryEvent): StoredEvent {
  const attributes: Record<string, string> = {};
  if (e.attributes) for (const k in e.attributes) attributes[k] = String(e.attributes[k]);
  for (const k in e) {
    // Unknown top-level fields survive as attributes, prefixed so that they cannot shadow real
    // ones; a producer's own attribute of that name keeps its value, and the field takes the
    // name with one more "_" in front until it is free (docs/EVENTS.md).
    if (KNOWN_FIELDS.has(k)) continue;
    const v = (e as Record<string, unknown>)[k];
    if (v === undefined) continue;
    let name = `_extra.${k}`;
    while (name in attributes) name = `_${name}`;
    attributes[name] = typeof v === "string" ? v : JSON.stringify(v);
  }
  const isRevocationLike = e.type === "revocation" || e.type === "reinstatement";
  return {
    event_id: e.event_id,
    type: e.type,
    time: toIsoMillis(e.time),
    agent_id: e.agent_id ?? "",
    pipeline_id: e.pipeline_id ?? "",
    session_id: e.session_id ?? "",
    credential_id: e.credential_id ?? "",
    layer: e.layer ?? "",
    source: e.source ?? "",
    action: e.action ?? "",
    resource: e.resource ?? "",
    decision: e.type === "action" ? (e.decision ?? "unknown") : (e.decision ?? ""),
    sensitivity: e.sensitivity ?? "",
    trace_id: e.trace_id?.toLowerCase() ?? "",
    span_id: e.span_id?.toLowerCase() ?? "",
    rev_scope: isRevocationLike ? e.revocation!.scope : "",
    rev_subject: isRevocationLike ? e.revocation!.subject : "",
    rev_reason: e.revocation?.reason ?? "",
    rev_cascade: e.revocation?.cascade ?? true,
    rev_initiated_by: e.revocation?.initiated_by ?? "",
    cred_id: e.credential?.id ?? "",
    cred_kind: e.credential?.kind ?? "",
    cred_parent_id: e.credential?.parent_id ?? "",
    cred_expires_at: e.credential?.expires_at != null ? toIsoMillis(e.credential.expires_at) : null,
    attributes,
  };
}

export type DecodeResult =
  | { ok: true; event: StoredEvent }
  | { ok: false; reason: string };

/** Formats zod issues as one line: "time: must be RFC 3339…; layer: required for type action". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join(".") : "(event)"}: ${i.message}`)
    .join("; ");
}

/** Validates an already-parsed JSON value against schema v1, including the future-time rule. */
export function validateEvent(value: unknown, now: number = Date.now()): DecodeResult {
  const protoAt = protoKeyAt(value);
  if (protoAt) return { ok: false, reason: `schema: ${protoAt}: "__proto__" is not accepted as a field name` };
  const parsed = telemetryEventSchema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: `schema: ${describeIssues(parsed.error)}` };
  const event = normalise(parsed.data);
  const malformed = malformedStringAt(event);
  if (malformed) return { ok: false, reason: `schema: ${malformed}: not valid Unicode (a lone UTF-16 surrogate)` };
  const ms = Date.parse(event.time);
  if (Number.isNaN(ms)) return { ok: false, reason: "schema: time: not a valid date" };
  if (ms > now + MAX_FUTURE_SKEW_MS) {
    return { ok: false, reason: `time: ${event.time} is more than 24 h in the future` };
  }
  if (ms < MIN_EVENT_TIME_MS) {
    return { ok: false, reason: `time: ${event.time} is before 2000-01-01T00:00:00Z, the earliest event time accepted` };
  }
  return { ok: true, event };
}
