/**
 * Flattens an OTLP request into one record per span, with its resource's attributes beside
 * it: the shape the mapping (lib/otlp/map.ts) and the span store (lib/otlp/store.ts) use.
 */
import type { AnyValue, KeyValue } from "./gen/opentelemetry/proto/common/v1/common_pb";
import type { ExportTraceServiceRequest } from "./gen/opentelemetry/proto/collector/trace/v1/trace_service_pb";

export type AttrValue = string | number | boolean;
export type Attrs = Record<string, AttrValue>;

export interface SpanRecord {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: string;
  startMs: number;
  endMs: number;
  statusCode: "unset" | "ok" | "error";
  statusMessage: string;
  attrs: Attrs;
  resource: Attrs;
  scope: string;
  /** Where the original export that carried the span is kept (otlp_exports), '' when not kept. */
  exportId: string;
}

/** Why a span cannot be used, or null. */
export type SpanProblem = { spanIndex: number; traceId: string; spanId: string; reason: string };

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** Attribute values as strings, numbers or booleans; arrays and maps as JSON text. */
export function anyValue(v: AnyValue | undefined): AttrValue | undefined {
  return valueOf(v, false) as AttrValue | undefined;
}

/**
 * An AnyValue: a scalar as itself, an array or kvlist as JSON text at the top (`nested`
 * false) and as a JSON array or object inside one. Stringified once, at the top: text
 * stringified again at every level doubled its escapes per level, so a 1 KB export of nested
 * lists became a 134 MB attribute.
 */
function valueOf(v: AnyValue | undefined, nested: boolean): unknown {
  const x = v?.value;
  switch (x?.case) {
    case "stringValue":
    case "boolValue":
    case "doubleValue":
      return x.value;
    case "intValue": {
      const n = Number(x.value);
      return Number.isSafeInteger(n) ? n : x.value.toString();
    }
    case "bytesValue":
      return Buffer.from(x.value).toString("base64");
    case "arrayValue": {
      const items = x.value.values.map((item) => valueOf(item, true));
      return nested ? items : JSON.stringify(items);
    }
    case "kvlistValue": {
      const entries = attrs(x.value.values, true);
      return nested ? entries : JSON.stringify(entries);
    }
    default:
      return undefined;
  }
}

/** Key-values as attributes; `nested`: inside an array or kvlist (see valueOf). */
export function attrs(kvs: KeyValue[], nested = false): Attrs {
  const out: Record<string, unknown> = {};
  for (const kv of kvs) {
    const v = valueOf(kv.value, nested);
    if (v !== undefined) out[kv.key] = v;
  }
  return out as Attrs;
}

/** Span kinds by their OTLP enum number (opentelemetry-proto Span.SpanKind: 0 unspecified … 5 consumer). */
export const SPAN_KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"] as const;
/** Status codes by their OTLP enum number (Status.StatusCode: 0 unset, 1 ok, 2 error). */
export const STATUS_CODES = ["unset", "ok", "error"] as const;

/**
 * Every span of the request, in order. Spans whose ids are not 16/8 bytes cannot be
 * placed in a trace: they are returned as problems instead.
 */
export function flattenSpans(req: ExportTraceServiceRequest): { spans: SpanRecord[]; problems: SpanProblem[] } {
  const spans: SpanRecord[] = [];
  const problems: SpanProblem[] = [];
  let index = 0;
  for (const rs of req.resourceSpans) {
    const resource = attrs(rs.resource?.attributes ?? []);
    for (const ss of rs.scopeSpans) {
      const scope = ss.scope?.name ?? "";
      for (const span of ss.spans) {
        const i = index++;
        const traceId = hex(span.traceId);
        const spanId = hex(span.spanId);
        if (span.traceId.length !== 16 || /^0+$/.test(traceId) || span.spanId.length !== 8 || /^0+$/.test(spanId)) {
          problems.push({ spanIndex: i, traceId, spanId, reason: "span: trace id must be 16 bytes and span id 8 bytes, not all zero" });
          continue;
        }
        if (span.parentSpanId.length !== 0 && span.parentSpanId.length !== 8) {
          problems.push({ spanIndex: i, traceId, spanId, reason: "span: parent span id must be 8 bytes or empty" });
          continue;
        }
        const a = attrs(span.attributes);
        spans.push({
          traceId,
          spanId,
          parentSpanId: span.parentSpanId.length && !/^0+$/.test(hex(span.parentSpanId)) ? hex(span.parentSpanId) : "",
          name: span.name,
          kind: SPAN_KINDS[span.kind] ?? "unspecified",
          startMs: Number(span.startTimeUnixNano / 1_000_000n),
          endMs: Number(span.endTimeUnixNano / 1_000_000n),
          statusCode: STATUS_CODES[span.status?.code ?? 0] ?? "unset",
          statusMessage: span.status?.message ?? "",
          attrs: a,
          resource,
          scope,
          exportId: "",
        });
      }
    }
  }
  return { spans, problems };
}
