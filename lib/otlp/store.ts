/**
 * The span store and the ancestor walk (lib/store/migrations/030_otlp_spans.sql).
 *
 * ingest() stores a batch of spans and returns the actions that became complete with it:
 * waiting tool spans of the batch's traces whose invoke_agent ancestor is now known (tool
 * spans that name their agent themselves are complete without the store). Because each caller stores its spans before it
 * looks for waiting ones, two batches of one trace handled at the same time (two partitions,
 * two workers) cannot both miss each other: the later lookup sees both. A repeated action is
 * harmless, events are deduplicated on event_id.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { insertBytes, insertRows, queryRows } from "../store/clickhouse";
import { timeBound } from "../store/verbs";
import { CLAIMED, EMITTED, EXPIRED, EXPORT_COLUMNS, NO_AGENT, SPAN_COLUMNS, TRACE_ID_LENGTH, WAITING, withAgent, type ReadyAction, type SpanRows, type WaitingRow } from "./batch";

export interface Completed {
  /** Waiting tool spans whose agent is now known: actions ready to store. */
  actions: ReadyAction[];
  /**
   * Tool spans given up: their whole ancestry arrived without naming an agent, or (expireWaiting)
   * an ancestor never arrived. Each with the export it came in (its id in otlp_exports), so
   * that its dead letter has the same name whoever gives it up.
   */
  orphans: { traceId: string; spanId: string; action: string; reason: string; exportId: string | undefined }[];
  /** Records the outcome once the caller has stored the actions and dead letters. */
  settle(): Promise<void>;
}

/** The expiry's own actions: each with the export its span came in (the batch that completed it is long gone). */
export interface Expired extends Completed {
  actions: (ReadyAction & { exportId: string | undefined })[];
}

/** Longest parent chain followed; deeper (or cyclic) ancestry counts as having no agent. */
const MAX_DEPTH = 256;

export class SpanStore {
  /**
   * @param maxWaitingTraces up to this many traces with waiting tool spans are matched against
   *   a batch's traces here; beyond it, in the engine (see tracesWithWaitingSpans).
   */
  constructor(
    private readonly client: ClickHouseClient,
    private readonly maxWaitingTraces = 10_000,
  ) {}

  /**
   * Stores a batch's spans, its waiting tool spans and its original exports, then completes
   * the waiting tool spans of its traces whose agent is now known. The tool spans that named
   * their agent themselves are not passed here: their actions need nothing from the store.
   */
  async ingest(batch: SpanRows): Promise<Completed> {
    // One chdb session runs one statement at a time: these queue, but in one await.
    await Promise.all([
      // TabSeparated: ClickHouse parses it about twice as fast as JSONEachRow (see
      // ingest/event-writer.ts). Synchronous: visible to the very next lookup (the walk below
      // depends on it).
      insertBytes(this.client, "otlp_spans", SPAN_COLUMNS, batch.spanRows, { comment: "otlp:spans" }),
      this.insertWaiting(batch.waiting),
      insertBytes(this.client, "otlp_exports", EXPORT_COLUMNS, batch.exportRows, { comment: "otlp:exports" }),
    ]);
    const actions: ReadyAction[] = [];
    const settled: WaitingRow[] = [];
    const orphans: Completed["orphans"] = [];
    const { waiting, tree, exports } = await this.waitingWithAncestry(batch.traceIds);
    for (const w of waiting) {
      const found = walk(tree, w);
      if ("missing" in found) continue;
      if ("agent" in found) {
        actions.push(withAgent(w.action, found.agent));
        settled.push({ ...w, state: EMITTED });
      } else {
        orphans.push({ traceId: w.trace_id, spanId: w.span_id, action: w.action, reason: found.reason, exportId: exports.get(`${w.trace_id}/${w.span_id}`) });
        settled.push({ ...w, state: NO_AGENT });
      }
    }
    return { actions, orphans, settle: () => this.insertWaiting(settled) };
  }

  /**
   * Gives up waiting for the ancestors of tool spans that have waited since before `before`
   * (counted from their latest delivery: a redelivered span waits again, whatever the merges
   * have kept), at most `limit` of them per call.
   *
   * The spans are claimed first (state CLAIMED): from then on no batch completes them. Their
   * ancestry is read after the claim, so a batch that stored an ancestor before it is seen
   * here, and a batch that stores one after it finds the span claimed. Each claimed span then
   * gets its outcome here: its action, when its agent has just arrived after all (a batch that
   * read the span before the claim may hand out the same action: the same event_id and
   * content, stored once); a dead letter with the reason, when its finished ancestry names no
   * agent; otherwise a dead letter naming the ancestor that never arrived. settle() records
   * them as EXPIRED once the caller has stored all that; a span left CLAIMED by a crash is
   * taken up again by the next call.
   */
  async expireWaiting(before: Date, waited: string, limit = 10_000): Promise<Expired> {
    // Candidates by any row (waiting and old by its own time, or claimed), then the latest
    // state of each and the time of its latest delivery, merged away or not.
    const candidates = await queryRows<Omit<WaitingRow, "state"> & { claimed: boolean }>(
      this.client,
      "otlp:waiting-expired",
      `SELECT trace_id, span_id, argMax(parent_span_id, state) AS parent_span_id, argMax(action, state) AS action, max(state) = ${CLAIMED} AS claimed
       FROM otlp_waiting
       WHERE (trace_id, span_id) IN (
         SELECT trace_id, span_id FROM otlp_waiting WHERE state = ${CLAIMED} OR (state = ${WAITING} AND waiting_since < ${timeBound("before")}))
       GROUP BY trace_id, span_id
       HAVING max(state) = ${CLAIMED} OR (max(state) = ${WAITING} AND maxIf(waiting_since, state = ${WAITING}) < ${timeBound("before")})
       ORDER BY trace_id, span_id LIMIT {limit:UInt32}`,
      { before: before.toISOString(), limit },
    );
    if (!candidates.length) return { actions: [], orphans: [], settle: async () => {} };
    const rows: WaitingRow[] = candidates.map(({ claimed: _, ...w }) => ({ ...w, state: CLAIMED }));
    await this.insertWaiting(rows.filter((_, i) => !candidates[i].claimed));
    const { tree, exports } = await this.ancestry([...new Set(rows.map((w) => w.trace_id))]);
    const actions: Expired["actions"] = [];
    const orphans: Completed["orphans"] = [];
    for (const w of rows) {
      const exportId = exports.get(`${w.trace_id}/${w.span_id}`);
      const found = walk(tree, w);
      if ("agent" in found) actions.push({ ...withAgent(w.action, found.agent), exportId });
      else {
        const reason = "reason" in found ? found.reason : `no invoke_agent ancestor arrived within ${waited} (span ${found.missing}, an ancestor, never did)`;
        orphans.push({ traceId: w.trace_id, spanId: w.span_id, action: w.action, reason, exportId });
      }
    }
    return { actions, orphans, settle: () => this.insertWaiting(rows.map((w) => ({ ...w, state: EXPIRED }))) };
  }

  /**
   * Deletes every version of the tool spans that were settled (emitted, dead-lettered, expired)
   * and whose latest version was written before `before`, at most `limit` spans per call;
   * returns how many: otherwise otlp_waiting keeps every tool call that ever named no agent.
   * Whole spans only, by their latest row: a span delivered again after it was settled has a
   * newer waiting version, which a TTL dropping rows by their own age would leave alone once it
   * had dropped the older settled one, and FINAL would then show it waiting again. The spans
   * are chosen first and deleted by name: a DELETE whose condition reads the table itself may
   * read it again part by part (and after a restart), and could then find a span's last waiting
   * version no longer settled once the parts before it were masked. A span still waiting (or
   * claimed by the expiry) is left to expireWaiting.
   */
  async purgeSettled(before: Date, limit = 10_000): Promise<number> {
    const spans = await queryRows<{ trace_id: string; span_id: string }>(
      this.client,
      "otlp:settled",
      `SELECT trace_id, span_id FROM otlp_waiting GROUP BY trace_id, span_id
       HAVING max(state) IN (${EMITTED}, ${NO_AGENT}, ${EXPIRED}) AND max(waiting_since) < ${timeBound("before")}
       LIMIT {limit:UInt32}`,
      { before: before.toISOString(), limit },
    );
    if (spans.length === 0) return 0;
    // The names as two arrays zipped in the statement: the client cannot bind an array of tuples.
    await this.client.command({
      query: `DELETE FROM otlp_waiting
              WHERE trace_id IN {traces:Array(String)}
                AND (trace_id, span_id) IN (SELECT tupleElement(p, 1), tupleElement(p, 2) FROM (SELECT arrayJoin(arrayZip({traces:Array(String)}, {spans:Array(String)})) AS p))`,
      query_params: { traces: spans.map((x) => x.trace_id), spans: spans.map((x) => x.span_id) },
      clickhouse_settings: { log_comment: "otlp:purge-settled" },
    });
    return spans.length;
  }

  private async insertWaiting(rows: WaitingRow[]): Promise<void> {
    await insertRows(this.client, "otlp_waiting", rows, { comment: "otlp:waiting" });
  }

  /**
   * The waiting tool spans of these traces, then (only when there are some) every stored span
   * of their traces: the ancestry the walk follows. otlp_waiting holds only tool spans that
   * named no agent, so it is small or empty while sources name their agents.
   * (One UNION query for both was slower: it matched the batch's trace ids twice.)
   */
  private async waitingWithAncestry(traceIds: string): Promise<{ waiting: WaitingRow[]; tree: Map<string, TreeNode>; exports: Map<string, string> }> {
    const none = { waiting: [], tree: new Map(), exports: new Map() };
    const traces = await this.tracesWithWaitingSpans(traceIds);
    if (!traces.length) return none;
    // The trace ids as one string parameter cut by the engine: as an Array(String) parameter,
    // tens of thousands of them took longer to pass and parse.
    const waiting = await queryRows<Omit<WaitingRow, "state">>(
      this.client,
      "otlp:waiting",
      `SELECT trace_id, span_id, parent_span_id, action FROM otlp_waiting FINAL
       WHERE trace_id IN (SELECT substring({traces:String}, number * ${TRACE_ID_LENGTH} + 1, ${TRACE_ID_LENGTH}) FROM numbers({count:UInt32}))
         AND state = ${WAITING}`,
      { traces, count: traces.length / TRACE_ID_LENGTH },
    );
    if (!waiting.length) return none;
    const { tree, exports } = await this.ancestry([...new Set(waiting.map((w) => w.trace_id))]);
    return { waiting: waiting.map((w) => ({ ...w, state: WAITING })), tree, exports };
  }

  /** Every stored span of these traces, by "trace/span": the ancestry the walk follows, and the export each span came in. */
  private async ancestry(traces: string[]): Promise<{ tree: Map<string, TreeNode>; exports: Map<string, string> }> {
    const nodes = await queryRows<TreeNode & { trace_id: string; span_id: string; export_id: string }>(
      this.client,
      "otlp:ancestry",
      `SELECT trace_id, span_id, parent_span_id, role, agent_id, export_id
       FROM otlp_spans FINAL WHERE trace_id IN {traces:Array(String)}`,
      { traces },
    );
    const tree = new Map<string, TreeNode>();
    const exports = new Map<string, string>();
    for (const n of nodes) {
      tree.set(`${n.trace_id}/${n.span_id}`, n);
      exports.set(`${n.trace_id}/${n.span_id}`, n.export_id);
    }
    return { tree, exports };
  }

  /**
   * Which of the batch's traces (TRACE_ID_LENGTH hex characters each, one after the other) may
   * hold waiting tool spans, in the same form. Asked the other way round: the traces that have
   * any waiting row (without FINAL, so also rows settled but not merged away yet: a superset)
   * are few, and matched here against the batch's. Passing the batch's tens of thousands of
   * trace ids to the engine instead cost ~430 ms of CPU per batch of 35,000 spans, mostly on
   * this thread, even with otlp_waiting empty (npm run bench:otlp). When many traces wait, the
   * batch's ids are passed after all.
   */
  private async tracesWithWaitingSpans(traceIds: string): Promise<string> {
    if (!traceIds.length) return "";
    const candidates = await queryRows<{ trace_id: string }>(
      this.client,
      "otlp:waiting-traces",
      `SELECT DISTINCT trace_id FROM otlp_waiting WHERE state = ${WAITING} LIMIT {limit:UInt32}`,
      { limit: this.maxWaitingTraces + 1 },
    );
    if (candidates.length > this.maxWaitingTraces) return traceIds;
    if (!candidates.length) return "";
    const waiting = new Set(candidates.map((c) => c.trace_id));
    let matched = "";
    for (let at = 0; at < traceIds.length; at += TRACE_ID_LENGTH) {
      const id = traceIds.slice(at, at + TRACE_ID_LENGTH);
      if (waiting.has(id)) matched += id;
    }
    return matched;
  }
}

export interface TreeNode {
  parent_span_id: string;
  role: string;
  agent_id: string;
}

/**
 * The nearest invoke_agent ancestor's agent; a reason when the ancestry is complete and
 * names none; while an ancestor is still missing (the span keeps waiting), the nearest one
 * that has not arrived.
 */
export function walk(
  tree: Map<string, TreeNode>,
  span: { trace_id: string; parent_span_id: string },
): { agent: string } | { reason: string } | { missing: string } {
  let parent = span.parent_span_id;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (!parent) return { reason: "tool span has no gen_ai.agent.id on itself or its resource, and no invoke_agent ancestor" };
    const node = tree.get(`${span.trace_id}/${parent}`);
    if (!node) return { missing: parent };
    if (node.role === "agent") {
      return node.agent_id ? { agent: node.agent_id } : { reason: "the nearest invoke_agent ancestor has neither gen_ai.agent.id nor gen_ai.agent.name" };
    }
    parent = node.parent_span_id;
  }
  return { reason: `ancestry deeper than ${MAX_DEPTH} spans or cyclic` };
}
