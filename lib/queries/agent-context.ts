/**
 * An agent's OpenTelemetry context: the spans that are not tool calls (its invoke_agent spans,
 * model calls, planning steps) in a time window, shown on its timeline beside its actions but
 * never counted as actions (docs/INTAKES.md, "OpenTelemetry").
 *
 * A context span belongs to an agent as a tool call does (lib/otlp/map.ts): the agent an
 * invoke_agent span stands for, else the gen_ai.agent.id of the span or its resource, else its
 * nearest invoke_agent ancestor's. The traces in which a span names the agent are found by
 * agent and time (otlp_agent_traces, lib/store/migrations/085_otlp_agent_context.sql), read
 * whole by primary key, and walked here: from what is stored, whatever order it arrived in.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows, timeBound } from "../store/clickhouse";
import { walk, type TreeNode } from "../otlp/store";

export interface ContextSpan {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  /** "agent" for an invoke_agent span, "other" for the rest (model calls, steps, …). */
  role: "agent" | "other";
  name: string;
  service: string;
  start_time: string;
  /** The original export in otlp_exports ('' when it was not kept: OTLP_KEEP_CONTEXT_SPANS). */
  export_id: string;
}

export interface ContextWindow {
  /** Inclusive lower bound (ISO-8601), open when absent. */
  from?: string;
  /** Upper bound (ISO-8601), open when absent; exclusive when `toExclusive`. */
  to?: string;
  toExclusive?: boolean;
}

/** Traces read per window: the newest first. */
const MAX_TRACES = 500;
/**
 * How far before the window a trace's naming span may start and still be read: an agent
 * invocation that began more than a day before the window contributes no context to it.
 */
const LOOKBACK = "INTERVAL 1 DAY";

interface SpanRow extends TreeNode {
  trace_id: string;
  span_id: string;
  name: string;
  service: string;
  start_time: string;
  export_id: string;
}

/** The agent's context spans in the window, newest first, at most `limit`; `truncated` when there were more. */
export async function agentContext(client: ClickHouseClient, agentId: string, window: ContextWindow, limit: number): Promise<{ spans: ContextSpan[]; truncated: boolean }> {
  const bounds: string[] = [];
  const params: Record<string, unknown> = { a: agentId, traces: MAX_TRACES + 1 };
  if (window.from) {
    bounds.push(`start_time >= ${timeBound("from")} - ${LOOKBACK}`);
    params.from = window.from;
  }
  if (window.to) {
    bounds.push(`start_time ${window.toExclusive ? "<" : "<="} ${timeBound("to")}`);
    params.to = window.to;
  }
  const traces = await queryRows<{ trace_id: string }>(
    client,
    "api:timeline:context-traces",
    `SELECT trace_id FROM otlp_agent_traces WHERE agent_id = {a:String} ${bounds.map((b) => `AND ${b}`).join(" ")}
     GROUP BY trace_id ORDER BY max(start_time) DESC LIMIT {traces:UInt32}`,
    params,
  );
  if (!traces.length) return { spans: [], truncated: false };
  const rows = await queryRows<SpanRow>(
    client,
    "api:timeline:context",
    `SELECT trace_id, span_id, parent_span_id, role, name, service, start_time, agent_id, export_id
     FROM otlp_spans FINAL WHERE trace_id IN {ids:Array(String)}`,
    { ids: traces.slice(0, MAX_TRACES).map((t) => t.trace_id) },
  );
  const tree = new Map<string, TreeNode>();
  for (const r of rows) tree.set(`${r.trace_id}/${r.span_id}`, r);
  const from = window.from ? Date.parse(window.from) : -Infinity;
  const to = window.to ? Date.parse(window.to) : Infinity;
  const spans: ContextSpan[] = [];
  for (const r of rows) {
    // Tool calls are the timeline's actions; a span skipped as context (LINK_ONLY,
    // OTLP_CONTEXT_SPANS=skip) only links its trace.
    if (r.role !== "agent" && r.role !== "other") continue;
    const t = Date.parse(r.start_time);
    if (t < from || t > to || (window.toExclusive && t === to)) continue;
    if (agentOf(tree, r) !== agentId) continue;
    spans.push({
      trace_id: r.trace_id, span_id: r.span_id, parent_span_id: r.parent_span_id, role: r.role === "agent" ? "agent" : "other",
      name: r.name, service: r.service, start_time: r.start_time, export_id: r.export_id,
    });
  }
  spans.sort((x, y) => (x.start_time < y.start_time ? 1 : x.start_time > y.start_time ? -1 : x.span_id < y.span_id ? 1 : -1));
  return { spans: spans.slice(0, limit), truncated: spans.length > limit || traces.length > MAX_TRACES };
}

/** The agent a span that is not a tool call belongs to, or null. */
function agentOf(tree: Map<string, TreeNode>, span: SpanRow): string | null {
  if (span.agent_id) return span.agent_id;
  if (span.role === "agent") return null;
  const found = walk(tree, span);
  return "agent" in found ? found.agent : null;
}
