/**
 * One consumer batch of spans, reduced as each export is decoded to what the span store
 * writes and what goes to the events topic: a TabSeparated row per span, the action's JSON
 * text per tool span. The decoded objects are dropped straight away instead of living until
 * the batch is written (a batch holds tens of thousands of spans; kept, they outlived the
 * young generation and garbage collection took a quarter of the OTLP path's time, measured
 * with npm run bench:otlp and node --cpu-prof).
 */
import { agentOfAgentSpan, ownAgent, spanRole, toolAction, type OtlpMapping } from "./map";
import type { SpanRecord } from "./spans";
import { tsvField } from "../store/tsv";

/** A tool span whose agent must come from an ancestor (otlp_waiting). */
export interface WaitingRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  action: string;
  state: number;
}

/** An action with its agent: the events topic's message key and its schema-v1 JSON text. */
export interface ReadyAction {
  agent_id: string;
  json: string;
}

export const WAITING = 0;
export const EMITTED = 1;
export const NO_AGENT = 2;

/** otlp_spans' columns in the order of the rows below (lib/store/migrations/030_otlp_spans.sql). */
export const SPAN_COLUMNS: [string, ...string[]] = ["trace_id", "span_id", "parent_span_id", "role", "name", "service", "start_time", "agent_id", "export_id"];

/**
 * The action's JSON text with agent_id added in front. The action was serialised once, when
 * its span was mapped (or stored waiting); adding the agent as text spares parsing it again
 * and copying every field (one call per tool span).
 */
export function withAgent(actionJson: string, agentId: string): ReadyAction {
  return { agent_id: agentId, json: `{"agent_id":${JSON.stringify(agentId)},${actionJson.slice(1)}` };
}

export class SpanBatch {
  /** otlp_spans rows, TabSeparated. */
  spanRows = "";
  spanCount = 0;
  readonly traceIds = new Set<string>();
  /** Tool spans that named their agent: ready to produce. */
  readonly ready: ReadyAction[] = [];
  /** Tool spans that did not: stored waiting for an ancestor. */
  readonly waiting: WaitingRow[] = [];

  constructor(private readonly mapping: OtlpMapping) {}

  add(spans: SpanRecord[]): void {
    for (const s of spans) {
      const role = spanRole(s);
      const agent = role === "agent" ? agentOfAgentSpan(s) : role === "tool" ? ownAgent(s) : "";
      const service = String(s.resource["service.name"] ?? "");
      this.spanRows += `${s.traceId}\t${s.spanId}\t${s.parentSpanId}\t${role}\t${tsvField(s.name)}\t${tsvField(service)}\t${new Date(s.startMs).toISOString()}\t${tsvField(agent)}\t${tsvField(s.exportId)}\n`;
      this.spanCount++;
      this.traceIds.add(s.traceId);
      if (role !== "tool") continue;
      const action = JSON.stringify(toolAction(s, this.mapping));
      if (agent) this.ready.push(withAgent(action, agent));
      else this.waiting.push({ trace_id: s.traceId, span_id: s.spanId, parent_span_id: s.parentSpanId, action, state: WAITING });
    }
  }
}
