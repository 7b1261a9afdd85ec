import { gunzipSync } from "node:zlib";
import { config } from "@/lib/config";
import { ApiError } from "@/lib/http/errors";
import { apiRoute, bodyLimit, readBytes, type RouteHandler } from "@/lib/http/route";
import { sharedProducer } from "@/lib/kafka";
import { encodingOf, OtlpDecodeError, otlpMapping } from "@/lib/otlp";
import { refusedToolSpans } from "@/lib/otlp/actions";
import { decodeOtlp, encodeOtlp, splitRequest } from "@/lib/otlp/codec";
import { exportAccepted, exportFailed } from "@/lib/otlp/http-answer";
import { flattenSpans } from "@/lib/otlp/spans";

export const dynamic = "force-dynamic";

/** Each Kafka message stays well under the broker's default 1 MiB message limit. */
const MAX_MESSAGE_BYTES = 900 * 1024;

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
  if (spans.length) {
    const producer = await sharedProducer().catch(() => {
      throw new ApiError(503, "kafka_unavailable", "Kafka is not reachable; nothing was accepted");
    });
    const messages = splitRequest(request, MAX_MESSAGE_BYTES).map((part) => ({
      key: null,
      value: Buffer.from(encodeOtlp(part, "otlp_proto")),
      headers: { "content-type": "application/x-protobuf" },
    }));
    // One request per part: the broker limits a whole record batch, not each message.
    await Promise.all(messages.map((m) => producer.send({ topic: config().OTLP_KAFKA_TOPIC, messages: [m], acks: -1 })));
  }
  // Spans whose ids cannot place them in a trace, and tool spans that cannot become a valid
  // action: both are dead-lettered by the consumer, and the client is told not to send them again.
  return exportAccepted(encoding, [...problems.map((p) => p.reason), ...refusedToolSpans(spans, otlpMapping(config()))]);
});

export const POST: RouteHandler = Object.assign(
  async (req: Request, ctx?: { params?: Promise<unknown> }) => {
    const answer = await accept(req, ctx);
    return answer.ok ? answer : exportFailed(answer, encodingOf(req.headers.get("content-type")));
  },
  { requiredRole: accept.requiredRole },
);
