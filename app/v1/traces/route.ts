import { gunzipSync } from "node:zlib";
import { config } from "@/lib/config";
import { ApiError, errorResponse } from "@/lib/http/errors";
import { apiRoute, bodyLimit, readBytes, type RouteHandler } from "@/lib/http/route";
import { kafkaUnavailable, refusedForSize, sharedProducer } from "@/lib/kafka";
import { encodingOf, OtlpDecodeError, otlpMapping } from "@/lib/otlp";
import { refusedToolSpans } from "@/lib/otlp/actions";
import { decodeOtlp, encodeOtlp, splitRequest } from "@/lib/otlp/codec";
import type { ExportTraceServiceRequest } from "@/lib/otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb";
import { exportAccepted, exportFailed } from "@/lib/otlp/http-answer";
import { flattenSpans } from "@/lib/otlp/spans";

export const dynamic = "force-dynamic";

/** Each Kafka message stays well under the broker's default 1 MiB message limit. */
const MAX_MESSAGE_BYTES = 900 * 1024;
/** A broker restart takes a few seconds; exporters are asked to wait about that long. */
const RETRY_AFTER_SECONDS = 5;

/** 503 with Retry-After: OTLP exporters retry the whole export then (its spans are deduplicated). */
function kafkaUnavailableAnswer(): Response {
  const res = errorResponse(new ApiError(503, "kafka_unavailable", "Kafka is not reachable; retry the export later"));
  res.headers.set("Retry-After", String(RETRY_AFTER_SECONDS));
  return res;
}

/** The ids ("trace/span", hex) of the one span of a part that splitRequest could not make smaller. */
function loneSpan(part: ExportTraceServiceRequest): string {
  const span = part.resourceSpans[0]?.scopeSpans[0]?.spans[0];
  return span ? `${Buffer.from(span.traceId).toString("hex")}/${Buffer.from(span.spanId).toString("hex")}` : "?";
}

/**
 * POST /v1/traces: OTLP/HTTP (protobuf or JSON, optionally gzip), bearer API key, role
 * analyst. The export is produced to the OTLP topic as protobuf, where the same consumer
 * that reads an OpenTelemetry Collector's exports handles it (ingest/otlp-consumer.ts).
 * Answers as the OTLP specification says (lib/otlp/http-answer.ts): 200 with an
 * ExportTraceServiceResponse in the request's encoding, carrying partial_success when some
 * spans were unusable; a failure, authentication's included, with a google.rpc.Status body.
 */
const accept = apiRoute("analyst", async (req) => {
  const encoding = encodingOf(req.headers.get("content-type"));
  if (!encoding) throw new ApiError(415, "unsupported_media_type", "send application/x-protobuf or application/json");
  let body: Uint8Array = await readBytes(req);
  const contentEncoding = (req.headers.get("content-encoding") ?? "identity").toLowerCase();
  if (contentEncoding === "gzip") {
    try {
      // Bounded like the body itself, so a small gzip bomb cannot fill memory.
      body = gunzipSync(body, { maxOutputLength: bodyLimit(req) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        throw new ApiError(413, "payload_too_large", `the body exceeds ${bodyLimit(req)} bytes once inflated`);
      }
      throw new ApiError(400, "invalid_gzip", `the gzip body could not be inflated: ${(err as Error).message}`);
    }
  } else if (contentEncoding !== "identity") {
    throw new ApiError(415, "unsupported_content_encoding", "Content-Encoding must be gzip or absent");
  }
  let request;
  try {
    request = decodeOtlp(body, encoding);
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw new ApiError(400, "invalid_otlp", err.message);
    throw err;
  }
  const { spans, problems } = flattenSpans(request);
  const tooLarge: string[] = [];
  // Produced also when every span is unusable: the consumer dead-letters them with their
  // reasons, so what the client is told was rejected is kept, not only counted.
  if (spans.length || problems.length) {
    const producer = await sharedProducer().catch(() => null);
    if (!producer) return kafkaUnavailableAnswer();
    const parts = splitRequest(request, MAX_MESSAGE_BYTES).map((part) => ({ part, value: Buffer.from(encodeOtlp(part, "otlp_proto")) }));
    const send = async ({ part, value }: (typeof parts)[number]) => {
      try {
        await producer.send({ topic: config().OTLP_KAFKA_TOPIC, messages: [{ key: null, value, headers: { "content-type": "application/x-protobuf" } }], acks: -1 });
      } catch (err) {
        // A span larger than the broker takes on its own (a huge tool result, say): not
        // produced, and the client is told it was rejected and why; the rest of the export is kept.
        if (value.length > MAX_MESSAGE_BYTES && refusedForSize(err)) tooLarge.push(loneSpan(part));
        else throw err;
      }
    };
    try {
      // One request per part: the broker limits a whole record batch, not each message.
      await Promise.all(parts.map(send));
    } catch (err) {
      // Some parts may be produced already: the export sent again repeats them, and a span
      // delivered twice is stored once (docs/INTAKES.md).
      if (kafkaUnavailable(err)) return kafkaUnavailableAnswer();
      throw err;
    }
  }
  // Spans whose ids cannot place them in a trace, and tool spans that cannot become a valid
  // action: both are dead-lettered by the consumer, and the client is told not to send them again.
  const unproduced = new Set(tooLarge);
  return exportAccepted(encoding, [
    ...problems.map((p) => p.reason),
    ...tooLarge.map((ids) => `span ${ids} is larger than the broker takes in one message: not accepted`),
    ...refusedToolSpans(spans.filter((s) => !unproduced.has(`${s.traceId}/${s.spanId}`)), otlpMapping(config())),
  ]);
});

export const POST: RouteHandler = Object.assign(
  async (req: Request, ctx?: { params?: Promise<unknown> }) => {
    const answer = await accept(req, ctx);
    return answer.ok ? answer : exportFailed(answer, encodingOf(req.headers.get("content-type")));
  },
  { requiredRole: accept.requiredRole },
);
