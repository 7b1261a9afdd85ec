/**
 * Real OpenTelemetry JS SDK spans for tests: a tracer provider whose spans land in an
 * in-memory exporter, then are serialised with the SDK's own OTLP serialisers (the bytes
 * an SDK or a Collector would send), or exported over HTTP by the SDK's OTLP exporters.
 */
import { ROOT_CONTEXT, trace, SpanStatusCode, type Attributes, type Span } from "@opentelemetry/api";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace";
import type { Producer } from "kafkajs";
import { config } from "@/lib/config";

export interface ToolCall {
  tool: string;
  callId?: string;
  time: number;
  attributes?: Attributes;
  /** Ends the span with status ERROR and this error.type. */
  errorType?: string;
}

export class OtelSource {
  readonly memory = new InMemorySpanExporter();
  readonly provider: TracerProvider;

  constructor(resource: Attributes, exporters: SpanExporter[] = []) {
    this.provider = new TracerProvider({
      resource: resourceFromAttributes(resource),
      spanProcessors: [new SimpleSpanProcessor({ exporter: this.memory }), ...exporters.map((e) => new SimpleSpanProcessor({ exporter: e }))],
    });
  }

  private get tracer() {
    return this.provider.getTracer("revenant-test", "1.0.0");
  }

  /** An invoke_agent span (GenAI conventions); end it after its children. */
  agent(agentId: string | undefined, time: number, attributes: Attributes = {}, parent?: Span): Span {
    return this.tracer.startSpan(
      `invoke_agent ${agentId ?? "anonymous"}`,
      { startTime: time, attributes: { "gen_ai.operation.name": "invoke_agent", ...(agentId ? { "gen_ai.agent.id": agentId } : {}), ...attributes } },
      parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
    );
  }

  /** Any span (a chat, a step) between an agent and its tools. */
  step(name: string, time: number, parent?: Span, attributes: Attributes = {}): Span {
    return this.tracer.startSpan(name, { startTime: time, attributes }, parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT);
  }

  /** An execute_tool span, ended at once. */
  tool(call: ToolCall, parent?: Span): Span {
    const span = this.tracer.startSpan(
      `execute_tool ${call.tool}`,
      {
        startTime: call.time,
        attributes: {
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": call.tool,
          ...(call.callId ? { "gen_ai.tool.call.id": call.callId } : {}),
          ...call.attributes,
        },
      },
      parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
    );
    if (call.errorType) {
      span.setAttribute("error.type", call.errorType);
      span.setStatus({ code: SpanStatusCode.ERROR, message: call.errorType });
    }
    span.end(call.time + 5);
    return span;
  }

  /** An MCP tools/call span. */
  mcpCall(tool: string, sessionId: string, time: number, attributes: Attributes = {}, parent?: Span): Span {
    const span = this.tracer.startSpan(
      `tools/call ${tool}`,
      { startTime: time, attributes: { "mcp.method.name": "tools/call", "gen_ai.tool.name": tool, "mcp.session.id": sessionId, ...attributes } },
      parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
    );
    span.end(time + 5);
    return span;
  }

  /** The finished spans so far, and forget them. */
  async take(): Promise<ReadableSpan[]> {
    await this.provider.forceFlush();
    const spans = this.memory.getFinishedSpans();
    this.memory.reset();
    return spans;
  }
}

export function serialise(spans: ReadableSpan[], encoding: "otlp_proto" | "otlp_json"): Buffer {
  const bytes = (encoding === "otlp_proto" ? ProtobufTraceSerializer : JsonTraceSerializer).serializeRequest(spans);
  if (!bytes) throw new Error("serialiser returned nothing");
  return Buffer.from(bytes);
}

/** Produces one OTLP export of these spans to the OTLP topic, as a Collector's kafka exporter does; `header` names the encoding in a content-type header. */
export async function sendOtlpExport(producer: Producer, spans: ReadableSpan[], encoding: "otlp_proto" | "otlp_json", header = false): Promise<void> {
  await producer.send({
    topic: config().OTLP_KAFKA_TOPIC,
    messages: [{ value: serialise(spans, encoding), headers: header ? { "content-type": encoding === "otlp_json" ? "application/json" : "application/x-protobuf" } : {} }],
  });
}
