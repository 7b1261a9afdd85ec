/**
 * The span store and the ancestor walk (lib/store/migrations/030_otlp_spans.sql).
 *
 * ingest() stores a batch of spans and returns the actions that became complete with it:
 * tool spans that name their agent themselves, and waiting tool spans of the same traces
 * whose invoke_agent ancestor is now known. Because each caller stores its spans before it
 * looks for waiting ones, two batches of one trace handled at the same time (two partitions,
 * two workers) cannot both miss each other: the later lookup sees both. A repeated action is
 * harmless, events are deduplicated on event_id.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { Readable } from "node:stream";
import { agentOfAgentSpan, ownAgent, spanRole, toolAction, type OtlpMapping, type PendingAction, type SpanRole } from "./map";
import type { SpanRecord } from "./spans";

interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  role: SpanRole;
  name: string;
  service: string;
  start_time: string;
  agent_id: string;
  export_id: string;
}

/** A tool span whose agent must come from an ancestor (otlp_waiting). */
interface WaitingRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  action: string;
  state: number;
}

const SPAN_COLUMNS = ["trace_id", "span_id", "parent_span_id", "role", "name", "service", "start_time", "agent_id", "export_id"] as const;
const TSV_SPECIAL = /[\\\t\n\r]/g;
const TSV_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };
const tsv = (v: string) => v.replace(TSV_SPECIAL, (c) => TSV_ESCAPES[c]);

/** One OTLP export message as received, kept whole for investigators (lib/store/migrations/030_otlp_spans.sql). */
export interface ExportRow {
  export_id: string;
  encoding: string;
  /** The JSON text as received, or the protobuf bytes in base64. */
  payload: string;
}

export const WAITING = 0;
export const EMITTED = 1;
export const NO_AGENT = 2;

export interface Completed {
  /** Actions with their agent, ready to produce to the events topic. */
  actions: (PendingAction & { agent_id: string })[];
  /** Tool spans whose whole ancestry arrived without naming an agent. */
  orphans: { traceId: string; spanId: string; action: string; reason: string }[];
  /** Records the outcome (state 1/2) once the caller has produced the actions and dead letters. */
  settle(): Promise<void>;
}

/** Longest parent chain followed; deeper (or cyclic) ancestry counts as having no agent. */
const MAX_DEPTH = 256;

export class SpanStore {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly mapping: OtlpMapping,
  ) {}

  async ingest(spans: SpanRecord[], exports: ExportRow[] = []): Promise<Completed> {
    const rows: SpanRow[] = [];
    const waitingNow: WaitingRow[] = [];
    const actions: Completed["actions"] = [];
    for (const s of spans) {
      const role = spanRole(s);
      const row: SpanRow = {
        trace_id: s.traceId,
        span_id: s.spanId,
        parent_span_id: s.parentSpanId,
        role,
        name: s.name,
        service: String(s.resource["service.name"] ?? ""),
        start_time: new Date(s.startMs).toISOString(),
        agent_id: role === "agent" ? agentOfAgentSpan(s) : role === "tool" ? ownAgent(s) : "",
        export_id: s.exportId,
      };
      if (role === "tool") {
        const action = toolAction(s, this.mapping);
        if (row.agent_id) actions.push({ ...action, agent_id: row.agent_id });
        else waitingNow.push({ trace_id: s.traceId, span_id: s.spanId, parent_span_id: s.parentSpanId, action: JSON.stringify(action), state: WAITING });
      }
      rows.push(row);
    }
    await Promise.all([
      rows.length ? this.insertSpans(rows) : undefined,
      waitingNow.length ? this.insertWaiting(waitingNow) : undefined,
      exports.length
        ? this.client.insert({ table: "otlp_exports", format: "JSONEachRow", values: exports, clickhouse_settings: { async_insert: 0, log_comment: "otlp:exports" } })
        : undefined,
    ]);
    const settled: WaitingRow[] = [];
    const orphans: Completed["orphans"] = [];
    const waiting = await this.waiting([...new Set(rows.map((r) => r.trace_id))]);
    if (waiting.length) {
      const tree = await this.trees([...new Set(waiting.map((w) => w.trace_id))]);
      for (const w of waiting) {
        const found = walk(tree, w);
        if (found === null) continue;
        if ("agent" in found) {
          actions.push({ ...(JSON.parse(w.action) as PendingAction), agent_id: found.agent });
          settled.push({ ...w, state: EMITTED });
        } else {
          orphans.push({ traceId: w.trace_id, spanId: w.span_id, action: w.action, reason: found.reason });
          settled.push({ ...w, state: NO_AGENT });
        }
      }
    }
    return { actions, orphans, settle: async () => (settled.length ? this.insertWaiting(settled) : undefined) };
  }

  /** TabSeparated: ClickHouse parses it about twice as fast as JSONEachRow (see ingest/event-writer.ts). */
  private async insertSpans(rows: SpanRow[]): Promise<void> {
    let body = "";
    for (const r of rows) body += SPAN_COLUMNS.map((c) => tsv(r[c])).join("\t") + "\n";
    await this.client.insert({
      table: "otlp_spans",
      format: "TabSeparated",
      columns: [...SPAN_COLUMNS],
      values: Readable.from([body], { objectMode: false }),
      // Visible to the very next lookup (the walk below depends on it).
      clickhouse_settings: { async_insert: 0, log_comment: "otlp:spans" },
    });
  }

  private async insertWaiting(rows: WaitingRow[]): Promise<void> {
    await this.client.insert({ table: "otlp_waiting", format: "JSONEachRow", values: rows, clickhouse_settings: { async_insert: 0, log_comment: "otlp:waiting" } });
  }

  /** Waiting tool spans of these traces; otlp_waiting holds only those, so this stays cheap. */
  private async waiting(traceIds: string[]): Promise<WaitingRow[]> {
    if (!traceIds.length) return [];
    const rs = await this.client.query({
      query: `SELECT trace_id, span_id, parent_span_id, action, state FROM otlp_waiting FINAL
              WHERE trace_id IN {traces:Array(String)} AND state = ${WAITING}`,
      query_params: { traces: traceIds },
      format: "JSONEachRow",
      clickhouse_settings: { log_comment: "otlp:waiting" },
    });
    return (await rs.json<WaitingRow>()).map((r) => ({ ...r, state: Number(r.state) }));
  }

  private async trees(traceIds: string[]): Promise<Map<string, TreeNode>> {
    const rs = await this.client.query({
      query: `SELECT trace_id, span_id, parent_span_id, role, agent_id
              FROM otlp_spans FINAL WHERE trace_id IN {traces:Array(String)}`,
      query_params: { traces: traceIds },
      format: "JSONEachRow",
      clickhouse_settings: { log_comment: "otlp:ancestry" },
    });
    const tree = new Map<string, TreeNode>();
    for (const n of await rs.json<TreeNode & { trace_id: string; span_id: string }>()) tree.set(`${n.trace_id}/${n.span_id}`, n);
    return tree;
  }
}

interface TreeNode {
  parent_span_id: string;
  role: string;
  agent_id: string;
}

/**
 * The nearest invoke_agent ancestor's agent; a reason when the ancestry is complete and
 * names none; null while an ancestor is still missing (the span keeps waiting).
 */
export function walk(tree: Map<string, TreeNode>, span: { trace_id: string; parent_span_id: string }): { agent: string } | { reason: string } | null {
  let parent = span.parent_span_id;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (!parent) return { reason: "tool span has no gen_ai.agent.id on itself or its resource, and no invoke_agent ancestor" };
    const node = tree.get(`${span.trace_id}/${parent}`);
    if (!node) return null;
    if (node.role === "agent") {
      return node.agent_id ? { agent: node.agent_id } : { reason: "the nearest invoke_agent ancestor has neither gen_ai.agent.id nor gen_ai.agent.name" };
    }
    parent = node.parent_span_id;
  }
  return { reason: `ancestry deeper than ${MAX_DEPTH} spans or cyclic` };
}
