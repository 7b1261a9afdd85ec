/**
 * A shortcut past the generated code's JSON reader for the exports OpenTelemetry SDKs and
 * Collectors write every time: an OTLP/JSON request in canonical form (lowerCamelCase keys,
 * hex ids of the right length, times as decimal strings, enums as numbers or names, attribute
 * values that are strings, numbers, booleans or arrays and maps of them) is flattened into
 * span records directly from JSON.parse's result, as flattenSpans (./spans.ts) flattens the
 * decoded message.
 *
 * Anything it does not recognise (an unknown or snake_case key, a null, bytes, events or
 * links, an id that makes a span unusable) returns null, and the caller decodes with the
 * generated code (./codec.ts), which decides, ignores unknown fields as OTLP asks, and names
 * problems. So the shortcut never accepts a message the generated reader refuses, and what it
 * returns is what flattenSpans would.
 *
 * Why: `fromJson` of @bufbuild/protobuf walks the message's descriptor reflectively: 9–12 µs
 * a span of the 12–15 an OTLP/JSON span cost to decode, against 7 for a protobuf one; this
 * reads one in ~1.5 µs after JSON.parse's ~3 (npm run bench:otlp; docs/BENCHMARKS.md).
 * test/unit/otlp-json-spans.test.ts holds the two paths equal over exports from the
 * OpenTelemetry SDK and mutations of them.
 */
import { SPAN_KINDS, STATUS_CODES, type Attrs, type SpanRecord } from "./spans";

/** Not a shape the shortcut knows: the generated reader decides. */
class Unrecognised extends Error {}
/** One instance, thrown without capturing a stack each time. */
const UNRECOGNISED = new Unrecognised("not canonical OTLP/JSON");
const unrecognised = (): never => {
  throw UNRECOGNISED;
};

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const object = (v: unknown): Json => (isObject(v) ? v : unrecognised());
const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : unrecognised());
const string = (v: unknown): string => (v === undefined ? "" : typeof v === "string" ? v : unrecognised());

/** Fields whose values the shortcut checks but does not use: name → accepts the value. */
const uint32 = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const emptyList = (v: unknown) => Array.isArray(v) && v.length === 0;
const isString = (v: unknown) => typeof v === "string";

/** Throws unless every key of `o` is one of `known` (a key → whether its value is plain). */
function onlyKnown(o: Json, known: Record<string, ((v: unknown) => boolean) | true>): void {
  for (const k in o) {
    const check = Object.hasOwn(known, k) ? known[k] : undefined;
    if (check === undefined || (check !== true && !check(o[k]))) unrecognised();
  }
}

const INT64 = /^-?\d{1,19}$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64 = /^\d{1,20}$/;
const UINT64_MAX = 2n ** 64n - 1n;

/** An int64 as protobuf JSON writes it (a decimal string, or an integer number), as a bigint. */
function int64(v: unknown): bigint {
  const n = typeof v === "string" && INT64.test(v) ? BigInt(v) : typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : unrecognised();
  return n < INT64_MIN || n > INT64_MAX ? unrecognised() : n;
}

/** A fixed64 time in nanoseconds, as milliseconds (flattenSpans divides the same way). */
function nanosToMs(v: unknown): number {
  if (v === undefined) return 0;
  const n = typeof v === "string" && UINT64.test(v) ? BigInt(v) : typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : unrecognised();
  return n > UINT64_MAX ? unrecognised() : Number(n / 1_000_000n);
}

/** An AnyValue as spans.ts's valueOf gives it (undefined for an empty one): arrays and kvlists as JSON text at the top only. */
function valueOf(v: unknown, nested: boolean): unknown {
  const o = object(v);
  let out: unknown;
  let seen = 0;
  for (const k in o) {
    seen++;
    const x = o[k];
    switch (k) {
      case "stringValue":
        out = typeof x === "string" ? x : unrecognised();
        break;
      case "boolValue":
        out = typeof x === "boolean" ? x : unrecognised();
        break;
      case "doubleValue":
        out = typeof x === "number" ? x : unrecognised();
        break;
      case "intValue": {
        const n = int64(x);
        out = Number.isSafeInteger(Number(n)) ? Number(n) : n.toString();
        break;
      }
      case "arrayValue": {
        const a = object(x);
        onlyKnown(a, { values: Array.isArray });
        const items = list(a.values).map((item) => valueOf(item, true));
        out = nested ? items : JSON.stringify(items);
        break;
      }
      case "kvlistValue": {
        const kv = object(x);
        onlyKnown(kv, { values: Array.isArray });
        const entries = attributes(kv.values, true);
        out = nested ? entries : JSON.stringify(entries);
        break;
      }
      default:
        unrecognised();
    }
  }
  // A oneof holds one value at most.
  return seen > 1 ? unrecognised() : out;
}

function attributes(v: unknown, nested = false): Attrs {
  const out: Record<string, unknown> = {};
  for (const item of list(v)) {
    const kv = object(item);
    onlyKnown(kv, { key: isString, value: true });
    const value = kv.value === undefined ? undefined : valueOf(kv.value, nested);
    if (value !== undefined) out[string(kv.key)] = value;
  }
  return out as Attrs;
}

const TRACE_ID = /^[0-9a-fA-F]{32}$/;
const SPAN_ID = /^[0-9a-fA-F]{16}$/;
const ZEROS = /^0+$/;
/** OTLP/JSON writes enums as integers; protobuf JSON readers also take their names (these, in the definitions' order). */
const KIND_NAMES = SPAN_KINDS.map((k) => `SPAN_KIND_${k.toUpperCase()}`);
const STATUS_NAMES = STATUS_CODES.map((c) => `STATUS_CODE_${c.toUpperCase()}`);

/** An enum's number, given as a number or by its name in `names`. */
function enumNumber(v: unknown, names: string[]): number {
  if (v === undefined) return 0;
  if (typeof v === "string") {
    const i = names.indexOf(v);
    return i >= 0 ? i : unrecognised();
  }
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < names.length ? v : unrecognised();
}

const SPAN_FIELDS = {
  traceId: true, spanId: true, parentSpanId: true, name: true, kind: true, startTimeUnixNano: true, endTimeUnixNano: true,
  attributes: true, status: true, traceState: isString, flags: uint32, droppedAttributesCount: uint32,
  events: emptyList, droppedEventsCount: uint32, links: emptyList, droppedLinksCount: uint32,
} as const;

function span(v: unknown, resource: Attrs, scope: string): SpanRecord {
  const s = object(v);
  onlyKnown(s, SPAN_FIELDS);
  const traceId = string(s.traceId);
  const spanId = string(s.spanId);
  const parent = string(s.parentSpanId);
  // Ids that make the span a problem are left to flattenSpans, which names the problem.
  if (!TRACE_ID.test(traceId) || ZEROS.test(traceId) || !SPAN_ID.test(spanId) || ZEROS.test(spanId)) unrecognised();
  if (parent !== "" && !SPAN_ID.test(parent)) unrecognised();
  const status = s.status === undefined ? {} : object(s.status);
  onlyKnown(status, { code: true, message: isString });
  return {
    traceId: traceId.toLowerCase(),
    spanId: spanId.toLowerCase(),
    parentSpanId: parent === "" || ZEROS.test(parent) ? "" : parent.toLowerCase(),
    name: string(s.name),
    kind: SPAN_KINDS[enumNumber(s.kind, KIND_NAMES)],
    startMs: nanosToMs(s.startTimeUnixNano),
    endMs: nanosToMs(s.endTimeUnixNano),
    statusCode: STATUS_CODES[enumNumber(status.code, STATUS_NAMES)],
    statusMessage: string(status.message),
    attrs: attributes(s.attributes),
    resource,
    scope,
    exportId: "",
  };
}

/** The spans of a parsed OTLP/JSON request, or null when the generated reader must decode it. */
export function plainJsonSpans(json: unknown): SpanRecord[] | null {
  try {
    const root = object(json);
    onlyKnown(root, { resourceSpans: true });
    const spans: SpanRecord[] = [];
    for (const rsValue of list(root.resourceSpans)) {
      const rs = object(rsValue);
      onlyKnown(rs, { resource: true, scopeSpans: true, schemaUrl: isString });
      const r = rs.resource === undefined ? {} : object(rs.resource);
      onlyKnown(r, { attributes: true, droppedAttributesCount: uint32 });
      const resource = attributes(r.attributes);
      for (const ssValue of list(rs.scopeSpans)) {
        const ss = object(ssValue);
        onlyKnown(ss, { scope: true, spans: true, schemaUrl: isString });
        const sc = ss.scope === undefined ? {} : object(ss.scope);
        onlyKnown(sc, { name: isString, version: isString, attributes: emptyList, droppedAttributesCount: uint32 });
        const scope = string(sc.name);
        for (const s of list(ss.spans)) spans.push(span(s, resource, scope));
      }
    }
    return spans;
  } catch (err) {
    if (err === UNRECOGNISED) return null;
    throw err;
  }
}
