/**
 * The OpenTelemetry intake's entry points: settings → mapping, and one Kafka message (or
 * HTTP body) → spans. The HTTP route (app/v1/traces/route.ts) produces exports to the OTLP
 * topic; the Kafka consumer (ingest/otlp-consumer.ts) hands their actions, validated, to the
 * writer and detection every event goes through.
 */
import type { Config } from "../config";
import { decodeOtlp, fromOtlpJson, OtlpDecodeError, parseOtlpJson, type OtlpEncoding } from "./codec";
import { plainJsonSpans } from "./json-spans";
import type { OtlpMapping } from "./map";
import { flattenSpans, type SpanProblem, type SpanRecord } from "./spans";

export { OtlpDecodeError, type OtlpEncoding } from "./codec";

export function otlpMapping(cfg: Config): OtlpMapping {
  return {
    serviceLayers: cfg.OTLP_SERVICE_LAYERS,
    defaultLayer: cfg.OTLP_DEFAULT_LAYER,
    denyHttpStatus: cfg.OTLP_DENY_HTTP_STATUS,
    denyErrorTypes: cfg.OTLP_DENY_ERROR_TYPES,
  };
}

/** The encoding a content type names, or null (protobuf and JSON are the two OTLP/HTTP defines). */
export function encodingOf(contentType: string | null | undefined): OtlpEncoding | null {
  const t = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (t === "application/x-protobuf" || t === "application/protobuf") return "otlp_proto";
  if (t === "application/json") return "otlp_json";
  return null;
}

export type OtlpMessage = { ok: true; spans: SpanRecord[]; problems: SpanProblem[] } | { ok: false; reason: string };

export function decodeOtlpMessage(value: Uint8Array | null, encoding: OtlpEncoding): OtlpMessage {
  if (!value || value.length === 0) return { ok: false, reason: "empty message" };
  try {
    // The message itself is what is kept (otlp_exports): the decoded form is only mapped.
    if (encoding === "otlp_proto") return { ok: true, ...flattenSpans(decodeOtlp(value, encoding, { keepUnknownFields: false })) };
    const json = parseOtlpJson(value);
    const spans = plainJsonSpans(json);
    return spans ? { ok: true, spans, problems: [] } : { ok: true, ...flattenSpans(fromOtlpJson(json)) };
  } catch (err) {
    if (err instanceof OtlpDecodeError) return { ok: false, reason: err.message };
    return { ok: false, reason: `decoder error: ${(err as Error).message}` };
  }
}
