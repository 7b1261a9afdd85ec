/**
 * OpenTelemetry spans → schema-v1 events (docs/INTAKES.md, "OpenTelemetry", has the table).
 *
 * A tool call (`gen_ai.operation.name = execute_tool`, or MCP `mcp.method.name = tools/call`)
 * becomes an `action`. Its agent is `gen_ai.agent.id` on the span or its resource; failing
 * that, the nearest `invoke_agent` ancestor's, which lib/otlp/store.ts looks up in ClickHouse
 * because the ancestor may arrive later, in another export.
 */
import type { SpanRecord } from "./spans";

export interface OtlpMapping {
  /** service.name → layer, for sources that cannot set revenant.layer. */
  serviceLayers: Record<string, string>;
  /** Layer when neither revenant.layer nor the service map names one. */
  defaultLayer: string;
  /** http.response.status_code values that mean "refused": the action's decision is deny. */
  denyHttpStatus: number[];
  /** error.type values (case-insensitive) that mean an authorization failure. */
  denyErrorTypes: string[];
}

export type SpanRole = "tool" | "agent" | "other";

/** What a span is to Revenant. */
export function spanRole(s: SpanRecord): SpanRole {
  const op = s.attrs["gen_ai.operation.name"];
  if (op === "execute_tool" || s.attrs["mcp.method.name"] === "tools/call") return "tool";
  if (op === "invoke_agent") return "agent";
  return "other";
}

const text = (v: unknown): string | undefined => (v === undefined || v === "" ? undefined : String(v));

/** A Revenant or GenAI attribute: the span's own value wins over its resource's. */
function pick(s: SpanRecord, key: string): string | undefined {
  return text(s.attrs[key]) ?? text(s.resource[key]);
}

/** The agent a span names itself: gen_ai.agent.id on the span, then on its resource. */
export function ownAgent(s: SpanRecord): string {
  return pick(s, "gen_ai.agent.id") ?? "";
}

/**
 * The agent an invoke_agent span stands for, as an ancestor of tool calls: its id, or its
 * name when the framework sets no id (the name is what the span's title carries).
 */
export function agentOfAgentSpan(s: SpanRecord): string {
  return ownAgent(s) || (pick(s, "gen_ai.agent.name") ?? "");
}

export function isAuthorizationFailure(s: SpanRecord, m: OtlpMapping): boolean {
  const status = Number(s.attrs["http.response.status_code"]);
  if (Number.isInteger(status) && m.denyHttpStatus.includes(status)) return true;
  const errorType = text(s.attrs["error.type"])?.toLowerCase();
  return errorType !== undefined && m.denyErrorTypes.includes(errorType);
}

/** The action a tool span becomes; without agent_id while it is not known (see lib/otlp/store.ts). */
export type PendingAction = Record<string, unknown> & { event_id: string; type: "action" };

/**
 * `agentId`: the span's agent when it names one, written first, as withAgent
 * (lib/otlp/batch.ts) adds it to a waiting span's action later, so that both give the same text.
 */
export function toolAction(s: SpanRecord, m: OtlpMapping, agentId?: string): PendingAction {
  const callId = text(s.attrs["gen_ai.tool.call.id"]);
  const service = text(s.resource["service.name"]);
  // Every field named in one literal, undefined when absent (JSON.stringify leaves it out):
  // objects of one shape serialise about twice as fast as ones grown key by key, and this
  // runs once per tool span.
  return {
    agent_id: agentId,
    event_id: callId && callId.length <= 128 ? callId : s.traceId + s.spanId,
    type: "action",
    time: s.startMs,
    layer: pick(s, "revenant.layer") ?? (service !== undefined ? m.serviceLayers[service] : undefined) ?? m.defaultLayer,
    action: s.attrs["gen_ai.operation.name"] === "execute_tool" ? "execute_tool" : "tools/call",
    resource: text(s.attrs["gen_ai.tool.name"]) ?? s.name,
    decision: isAuthorizationFailure(s, m) ? "deny" : "allow",
    trace_id: s.traceId,
    span_id: s.spanId,
    session_id: text(s.attrs["gen_ai.conversation.id"]) ?? text(s.attrs["mcp.session.id"]),
    credential_id: pick(s, "revenant.credential.id"),
    pipeline_id: pick(s, "revenant.pipeline.id"),
    source: service,
    attributes: {
      "revenant.origin": "otlp",
      "otel.span.name": s.name,
      "otel.service.name": service || undefined,
      "otel.scope.name": s.scope || undefined,
      "otel.export_id": s.exportId || undefined,
      "otel.status.code": s.statusCode !== "unset" ? s.statusCode : undefined,
      "otel.status.message": s.statusMessage ? s.statusMessage.slice(0, 1024) : undefined,
      "error.type": s.attrs["error.type"],
      "http.response.status_code": s.attrs["http.response.status_code"],
      "gen_ai.tool.call.id": s.attrs["gen_ai.tool.call.id"],
      "mcp.method.name": s.attrs["mcp.method.name"],
      "gen_ai.agent.name": s.attrs["gen_ai.agent.name"],
    },
  };
}
