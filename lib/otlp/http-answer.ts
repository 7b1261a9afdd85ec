/**
 * What POST /v1/traces answers, as the OTLP/HTTP specification says a server must
 * (docs/INTAKES.md, "OTLP/HTTP"):
 *   - success: 200 with an ExportTraceServiceResponse, whose partial_success counts the spans
 *     that were refused and says why;
 *   - failure: the HTTP status (4xx, 5xx; Retry-After kept for 429 and 503) with a
 *     google.rpc.Status body, never the API's own error JSON, which OTLP clients cannot read.
 * Both in the request's encoding: protobuf for a protobuf request, JSON otherwise.
 */
import { create, toBinary, toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { OtlpEncoding } from "./codec";
import { ExportTraceServiceResponseSchema } from "./gen/opentelemetry/proto/collector/trace/v1/trace_service_pb";
import { StatusSchema } from "./gen/google/rpc/status_pb";

/**
 * gRPC status codes for the HTTP statuses the route answers (the OTLP/gRPC equivalents).
 * OTLP clients act on the HTTP status; Status.code only helps whoever reads their logs.
 */
const GRPC_CODE_OF_HTTP: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14 };
const GRPC_UNKNOWN = 2;

/** At most this many reasons are joined into partial_success.error_message. */
const MAX_REASONS = 5;

function encoded<D extends DescMessage>(schema: D, message: MessageShape<D>, encoding: OtlpEncoding | null, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  if (encoding === "otlp_proto") {
    headers.set("content-type", "application/x-protobuf");
    return new Response(Buffer.from(toBinary(schema, message)), { ...init, headers });
  }
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(toJson(schema, message)), { ...init, headers });
}

/** 200: the export was accepted, but for `refusals` (one reason per refused span). */
export function exportAccepted(encoding: OtlpEncoding, refusals: string[]): Response {
  const reasons = [...new Set(refusals)].slice(0, MAX_REASONS).join("; ");
  const response = create(
    ExportTraceServiceResponseSchema,
    refusals.length ? { partialSuccess: { rejectedSpans: BigInt(refusals.length), errorMessage: reasons } } : {},
  );
  return encoded(ExportTraceServiceResponseSchema, response, encoding);
}

/**
 * A failure answered by the API's shared error handling (lib/http/route.ts: a JSON body
 * `{"error":{"code","message"}}`, from authentication, rate limits, body limits or the route
 * itself), re-answered as OTLP says: the same status and headers, a Status body whose message
 * starts with Revenant's error code ("unauthenticated: sign in or …").
 */
export async function exportFailed(failed: Response, encoding: OtlpEncoding | null): Promise<Response> {
  let detail = `HTTP ${failed.status}`;
  try {
    const { error } = (await failed.json()) as { error?: { code?: string; message?: string } };
    if (error?.code) detail = error.message ? `${error.code}: ${error.message}` : error.code;
  } catch {
    // Not the API's error JSON: the HTTP status says what there is to say.
  }
  const headers = new Headers(failed.headers);
  headers.delete("content-length");
  const status = create(StatusSchema, { code: GRPC_CODE_OF_HTTP[failed.status] ?? GRPC_UNKNOWN, message: detail });
  return encoded(StatusSchema, status, encoding, { status: failed.status, headers });
}
