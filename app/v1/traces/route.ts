import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { gunzipSync } from "node:zlib";
import { config } from "@/lib/config";
import { ApiError } from "@/lib/http/errors";
import { apiRoute, bodyLimit, readBytes } from "@/lib/http/route";
import { sharedProducer } from "@/lib/kafka";
import { encodingOf, OtlpDecodeError } from "@/lib/otlp";
import { decodeOtlp, encodeOtlp, splitRequest } from "@/lib/otlp/codec";
import { ExportTraceServiceResponseSchema } from "@/lib/otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb";
import { flattenSpans } from "@/lib/otlp/spans";

export const dynamic = "force-dynamic";

/** Each Kafka message stays well under the broker's default 1 MiB message limit. */
const MAX_MESSAGE_BYTES = 900 * 1024;

/**
 * POST /v1/traces: OTLP/HTTP (protobuf or JSON, optionally gzip), bearer API key, role
 * analyst. The export is produced to the OTLP topic as protobuf, where the same consumer
 * that reads an OpenTelemetry Collector's exports handles it (ingest/otlp-consumer.ts).
 * Answers as the OTLP specification says: 200 with an ExportTraceServiceResponse in the
 * request's encoding, carrying partial_success when some spans were unusable.
 */
export const POST = apiRoute("analyst", async (req) => {
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
  const response = create(ExportTraceServiceResponseSchema, problems.length
    ? { partialSuccess: { rejectedSpans: BigInt(problems.length), errorMessage: problems.slice(0, 5).map((p) => p.reason).join("; ") } }
    : {});
  if (encoding === "otlp_json") return Response.json(toJson(ExportTraceServiceResponseSchema, response));
  return new Response(Buffer.from(toBinary(ExportTraceServiceResponseSchema, response)), { headers: { "content-type": "application/x-protobuf" } });
});
