/**
 * One consumer batch of OTLP export messages, reduced as each export is decoded to what the
 * span store writes and what ingest stores: TabSeparated rows, written straight into bytes,
 * for otlp_spans and otlp_exports, and the action's schema-v1 JSON text per tool span.
 * Nothing else decoded outlives its message: a batch holds tens of thousands of spans, and
 * objects kept until the batch is written outlive the young generation (as strings, the rows
 * alone made garbage collection take a third of the mapping's time, measured with
 * npm run bench:otlp and node --cpu-prof).
 *
 * Pure (no I/O): ingest/otlp-thread-worker.ts runs it in a worker thread, beside the thread
 * that stores the spans and the events.
 */
import { decodeOtlpMessage, type OtlpEncoding } from "./index";
import { agentOfAgentSpan, ownAgent, spanRole, toolAction, type OtlpMapping } from "./map";
import type { SpanProblem, SpanRecord } from "./spans";
import { TsvBytes, tsvField } from "../store/tsv";

/** A tool span whose agent must come from an ancestor (otlp_waiting). */
export interface WaitingRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  action: string;
  state: number;
}

/**
 * An action with its agent, as schema-v1 JSON text: ingest validates it like any event
 * (ingest/decode-batch.ts, decodeActions). `offset` is the Kafka offset of the export message
 * it came from, its provenance in the events table; absent for a span that waited for its
 * agent (the consumer gives it the offset of the batch that completed it).
 */
export interface ReadyAction {
  agent_id: string;
  json: string;
  offset?: string;
}

/** A trace id in hex (16 bytes, lib/otlp/spans.ts). */
export const TRACE_ID_LENGTH = 32;

/**
 * A waiting tool span's states, also the versions of otlp_waiting (the highest wins): waiting;
 * completed by a batch (its action handed out, or dead-lettered: its ancestry names no agent);
 * claimed by the expiry (lib/otlp/store.ts, expireWaiting), then settled by it.
 */
export const WAITING = 0;
export const EMITTED = 1;
export const NO_AGENT = 2;
export const CLAIMED = 3;
export const EXPIRED = 4;

/** Where an export message was read: its id in otlp_exports and otlp_spans, and an action's `otel.export_id`. */
export interface ExportCoordinates {
  topic: string;
  partition: number;
  offset: string;
}

export const exportIdOf = (at: ExportCoordinates): string => `${at.topic}/${at.partition}/${at.offset}`;

/** The coordinates an export id names (a Kafka topic name has no "/"), or null for another string. */
export function exportCoordinatesOf(exportId: string): ExportCoordinates | null {
  const m = /^([^/]+)\/(\d+)\/(\d+)$/.exec(exportId);
  return m ? { topic: m[1], partition: Number(m[2]), offset: m[3] } : null;
}

/** otlp_spans' columns in the order of the rows below (lib/store/migrations/030_otlp_spans.sql). */
export const SPAN_COLUMNS: [string, ...string[]] = ["trace_id", "span_id", "parent_span_id", "role", "name", "service", "start_time", "agent_id", "export_id"];
/** otlp_exports' columns in the order of the rows below. */
export const EXPORT_COLUMNS: [string, ...string[]] = ["export_id", "encoding", "payload"];

/**
 * A waiting span's action JSON text with agent_id added in front, once its agent is known
 * (lib/otlp/store.ts): the same text toolAction gives with the agent. Adding it as text spares
 * parsing the action again and copying every field.
 */
export function withAgent(actionJson: string, agentId: string): ReadyAction {
  return { agent_id: agentId, json: `{"agent_id":${JSON.stringify(agentId)},${actionJson.slice(1)}` };
}

/** What the span store writes for one batch (lib/otlp/store.ts). */
export interface SpanRows {
  /** otlp_spans rows, TabSeparated (SPAN_COLUMNS). */
  spanRows: Uint8Array;
  spanCount: number;
  /** otlp_exports rows, TabSeparated (EXPORT_COLUMNS): the original messages, kept for investigators. */
  exportRows: Uint8Array;
  /**
   * Every trace the batch's spans belong to, where waiting tool spans may have become
   * complete: their ids (TRACE_ID_LENGTH hex characters each) one after the other.
   */
  traceIds: string;
  /** Tool spans that did not name their agent: stored waiting for an ancestor. */
  waiting: WaitingRow[];
}

/** One OTLP export message of a batch, as the Kafka consumer read it. */
export interface ExportMessage {
  offset: string;
  encoding: OtlpEncoding;
  value: Uint8Array | null;
}

/** A batch mapped: the rows to store, the actions that named their agent, and what could not be used. */
export interface MappedBatch extends SpanRows {
  /** Tool spans that named their agent: ready to store. */
  ready: ReadyAction[];
  /** Messages that did not decode (index into the batch's messages), for dead letters. */
  rejected: { index: number; reason: string }[];
  /** Spans that cannot be placed in a trace, for dead letters. */
  problems: { index: number; problem: SpanProblem }[];
}

export interface BatchSource {
  topic: string;
  partition: number;
  mapping: OtlpMapping;
  /** OTLP_KEEP_CONTEXT_SPANS: keep the original of exports holding neither a tool call nor an agent span. */
  keepContextSpans: boolean;
  /** OTLP_CONTEXT_SPANS=skip: store only the place in its trace of a span that is neither a tool call nor an agent span. */
  skipContextSpans?: boolean;
}

/**
 * The role stored for a span skipped as context (OTLP_CONTEXT_SPANS=skip): no name, no
 * service, never on a timeline (lib/queries/agent-context.ts), but a link in its trace's
 * ancestry, through which a tool call below it still finds its invoke_agent ancestor.
 */
export const LINK_ONLY = "link";

export class SpanBatch {
  private readonly spanRows = new TsvBytes();
  private readonly exportRows = new TsvBytes();
  private readonly traceIds = new Set<string>();
  private readonly waiting: WaitingRow[] = [];
  private readonly rejected: MappedBatch["rejected"] = [];
  private readonly problems: MappedBatch["problems"] = [];

  constructor(private readonly source: BatchSource) {}

  /** Decodes one message (the index-th of the batch), adds its spans, and returns the actions that are ready. */
  addMessage(index: number, m: ExportMessage): ReadyAction[] {
    const decoded = decodeOtlpMessage(m.value, m.encoding);
    if (!decoded.ok) {
      this.rejected.push({ index, reason: decoded.reason });
      return [];
    }
    for (const problem of decoded.problems) this.problems.push({ index, problem });
    const roles = decoded.spans.map(spanRole);
    if (this.source.keepContextSpans || roles.some((r) => r !== "other")) {
      const exportId = exportIdOf({ topic: this.source.topic, partition: this.source.partition, offset: m.offset });
      const head = `${tsvField(exportId)}\t${m.encoding}\t`;
      // JSON is kept as received; protobuf in base64, whose alphabet TSV never escapes.
      if (m.encoding === "otlp_json") this.exportRows.addWithBytes(head, m.value!);
      else this.exportRows.add(`${head}${Buffer.from(m.value!.buffer, m.value!.byteOffset, m.value!.byteLength).toString("base64")}\n`);
      for (const s of decoded.spans) s.exportId = exportId;
    }
    const ready = this.addSpans(decoded.spans, roles);
    for (const a of ready) a.offset = m.offset;
    return ready;
  }

  /** Adds spans; returns the actions of the tool spans among them that named their agent. */
  addSpans(spans: SpanRecord[], roles = spans.map(spanRole)): ReadyAction[] {
    const { mapping } = this.source;
    const ready: ReadyAction[] = [];
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      const role = roles[i];
      // The agent an invoke_agent span stands for; for any other span, the one it names itself
      // (an ancestor's is found when it is needed: lib/otlp/store.ts, lib/queries/agent-context.ts).
      const agent = role === "agent" ? agentOfAgentSpan(s) : ownAgent(s);
      if (role === "other" && this.source.skipContextSpans) {
        this.spanRows.add(`${s.traceId}\t${s.spanId}\t${s.parentSpanId}\t${LINK_ONLY}\t\t\t${new Date(s.startMs).toISOString()}\t${tsvField(agent)}\t\n`);
        this.traceIds.add(s.traceId);
        continue;
      }
      const service = String(s.resource["service.name"] ?? "");
      this.spanRows.add(`${s.traceId}\t${s.spanId}\t${s.parentSpanId}\t${role}\t${tsvField(s.name)}\t${tsvField(service)}\t${new Date(s.startMs).toISOString()}\t${tsvField(agent)}\t${tsvField(s.exportId)}\n`);
      this.traceIds.add(s.traceId);
      if (role !== "tool") continue;
      // Serialised once, with its agent when the span names one: adding the agent to the text
      // afterwards (withAgent) copied every action's text a second time: 0.9 KB less garbage
      // per span of bench:otlp's exports (10.4 → 9.5 KB, V8's sampling heap profiler).
      if (agent) ready.push({ agent_id: agent, json: JSON.stringify(toolAction(s, mapping, agent)) });
      else this.waiting.push({ trace_id: s.traceId, span_id: s.spanId, parent_span_id: s.parentSpanId, action: JSON.stringify(toolAction(s, mapping)), state: WAITING });
    }
    return ready;
  }

  /** Everything but the ready actions, which addMessage handed out. */
  result(): Omit<MappedBatch, "ready"> {
    return {
      spanRows: this.spanRows.bytes(),
      spanCount: this.spanRows.rows,
      exportRows: this.exportRows.bytes(),
      traceIds: [...this.traceIds].join(""),
      waiting: this.waiting,
      rejected: this.rejected,
      problems: this.problems,
    };
  }
}

/** Decodes and maps a batch's messages. */
export function mapBatch(source: BatchSource, messages: ExportMessage[]): MappedBatch {
  const batch = new SpanBatch(source);
  const ready = messages.flatMap((m, i) => batch.addMessage(i, m));
  return { ...batch.result(), ready };
}
