/**
 * Agents: an agent's page (sessions, credentials with lineage) and its timeline
 * with post-revocation flags. The list (last seen, pipelines, revoked?, containment) is
 * lib/queries/agent-list.ts; its row heads the agent's page too.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import type { StoredEvent } from "../events/schema";
import { cursorTime, decodeCursor, page } from "../http/cursor";
import { cursorParam, limitParam, timeParam } from "../http/params";
import { queryRows, SMALL_READS } from "../store/clickhouse";
import { agentContext, type ContextSpan } from "./agent-context";
import { agentListItem } from "./agent-list";
import { Conditions } from "./conditions";
import { revocationIdsOfAgent, timelineRevocations, type TimelineRevocation } from "./revocations";

export { agentListQuery, listAgents, type AgentFilters, type AgentListItem, type AgentSort } from "./agent-list";

/** GET /api/v1/agents/{agent_id}/timeline: parsed by the route, typed by the UI hook (components/data/agents.ts). */
export const timelineQuery = z.object({ from: timeParam.optional(), to: timeParam.optional(), limit: limitParam(500), cursor: cursorParam });

export interface CredentialInfo {
  credential_id: string;
  kind: string;
  parent_id: string | null;
  issued_at: string | null;
  first_seen: string;
  last_seen: string;
  presented_by: string[];
  children: string[];
}

export async function getAgent(client: ClickHouseClient, agentId: string) {
  const item = await agentListItem(client, agentId);
  if (!item) return null;
  const [sessions, credentials] = await Promise.all([
    queryRows<{ session_id: string; started_at: string; last_seen: string; event_count: number; pipeline_id: string }>(
      client,
      "api:agent:sessions",
      `SELECT session_id, min(time) AS started_at, max(time) AS last_seen, count() AS event_count, any(pipeline_id) AS pipeline_id
       FROM events FINAL WHERE agent_id = {a:String} AND session_id != '' GROUP BY session_id ORDER BY started_at DESC LIMIT 500`,
      { a: agentId },
    ),
    credentialsOf(client, "agent", agentId),
  ]);
  return { ...item, sessions, credentials };
}

/** Credentials an agent / session / pipeline issued or presented, with their lineage and who else presented them. */
export async function credentialsOf(client: ClickHouseClient, ownerKind: "agent" | "pipeline" | "session", ownerId: string): Promise<CredentialInfo[]> {
  const owned = await queryRows<{ credential_id: string; first_seen: string; last_seen: string }>(
    client,
    "api:credentials",
    `SELECT credential_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM credential_presence
     WHERE owner_kind = {k:String} AND owner_id = {o:String} GROUP BY credential_id ORDER BY first_seen LIMIT 2000`,
    { k: ownerKind, o: ownerId },
  );
  if (!owned.length) return [];
  const ids = owned.map((c) => c.credential_id);
  const [lineage, children, presenters] = await Promise.all([
    queryRows<{ credential_id: string; parent_id: string; kind: string; issued_at: string }>(
      client,
      "api:credentials:lineage",
      `SELECT credential_id, any(parent_id) AS parent_id, any(kind) AS kind, min(issued_at) AS issued_at
       FROM credential_lineage WHERE credential_id IN {ids:Array(String)} GROUP BY credential_id`,
      { ids },
    ),
    queryRows<{ parent_id: string; children: string[] }>(
      client,
      "api:credentials:children",
      `SELECT parent_id, arraySort(groupUniqArray(credential_id)) AS children FROM credential_lineage WHERE parent_id IN {ids:Array(String)} GROUP BY parent_id`,
      { ids },
    ),
    queryRows<{ credential_id: string; agents: string[] }>(
      client,
      "api:credentials:presenters",
      `SELECT credential_id, arraySort(groupUniqArray(owner_id)) AS agents FROM credential_presence
       WHERE owner_kind = 'agent' AND credential_id IN {ids:Array(String)} GROUP BY credential_id`,
      { ids },
    ),
  ]);
  const lin = new Map(lineage.map((l) => [l.credential_id, l]));
  const kids = new Map(children.map((c) => [c.parent_id, c.children]));
  const who = new Map(presenters.map((p) => [p.credential_id, p.agents]));
  return owned.map((c) => ({
    credential_id: c.credential_id,
    kind: lin.get(c.credential_id)?.kind ?? "",
    parent_id: lin.get(c.credential_id)?.parent_id || null,
    issued_at: lin.get(c.credential_id)?.issued_at ?? null,
    first_seen: c.first_seen,
    last_seen: c.last_seen,
    presented_by: who.get(c.credential_id) ?? [],
    children: kids.get(c.credential_id) ?? [],
  }));
}

export interface TimelineEvent extends Omit<StoredEvent, "rev_scope" | "rev_subject" | "rev_reason" | "rev_cascade" | "rev_initiated_by" | "cred_id" | "cred_kind" | "cred_parent_id" | "cred_expires_at"> {
  revocation: { scope: string; subject: string; reason: string; cascade: boolean } | null;
  credential: { id: string; kind: string; parent_id: string | null } | null;
  post_revocation: { revocation_id: string; violation: boolean; via: string }[];
}

/** An event as the timeline reads it: not who initiated a revocation, nor when a credential expires (it shows neither). */
type EventRow = Omit<StoredEvent, "rev_initiated_by" | "cred_expires_at">;

/** OpenTelemetry context spans per timeline page: at most this many (the newest). */
const CONTEXT_PER_PAGE = 1000;

export type { ContextSpan } from "./agent-context";

export async function agentTimeline(
  client: ClickHouseClient,
  agentId: string,
  range: { from?: string; to?: string },
  cursor: string | undefined,
  limit: number,
) {
  const after = decodeCursor(cursor);
  const c = new Conditions()
    .add("agent_id = {a:String}", { a: agentId })
    .timeRange("time", range.from, range.to)
    .before("time", "event_id", after);
  // Without FINAL: ingest stores the first copy of an event only (ingest/first-copies.ts), so
  // copies are rare (a race between workers) and identical; LIMIT 1 BY drops them for less
  // than FINAL's merge of every part the agent's rows are in.
  // The revocations the agent has pairs under or is covered by are looked up once, beside the
  // page, for both the flags and the revocations: an agent no revocation touched (most of them)
  // needs neither query, and the others read both by primary key with the ids in hand.
  const [rows, revocationIds] = await Promise.all([
    queryRows<EventRow>(
      client,
      "api:timeline",
      `SELECT event_id, type, time, agent_id, pipeline_id, session_id, credential_id, layer, source, action, resource, decision,
              sensitivity, trace_id, span_id, rev_scope, rev_subject, rev_reason, rev_cascade, cred_id, cred_kind, cred_parent_id, attributes
       FROM events ${c.where} ORDER BY time DESC, event_id DESC LIMIT 1 BY event_id LIMIT {limit:UInt32} ${SMALL_READS}`,
      { ...c.params, limit: limit + 1 },
    ),
    revocationIdsOfAgent(client, agentId),
  ]);
  const paged = page(rows, limit, (e) => ({ t: e.time, id: e.event_id }));
  const ids = paged.items.map((e) => e.event_id);
  // The page's context spans are those of the time its events cover: from its oldest event
  // (the range's start on the last page) to where the previous page ended (the range's end on
  // the first), so that paging through the timeline shows each context span once.
  const oldest = paged.items.at(-1)?.time;
  const contextWindow = {
    from: paged.next_cursor && oldest ? oldest : range.from,
    to: after ? cursorTime(after) : range.to,
    toExclusive: !!after,
  };
  const [flags, revocations, context] = await Promise.all([
    ids.length && revocationIds.length
      ? queryRows<{ event_id: string; revocation_id: string; violation: boolean; via: string }>(
          client,
          "api:timeline:flags",
          // PREWHERE on the sorting key only: every version of a pair has the same key, so
          // filtering before FINAL's merge keeps the latest (FINAL leaves WHERE after it).
          `SELECT event_id, revocation_id, violation, via FROM post_revocation_actions FINAL
           PREWHERE revocation_id IN {revs:Array(String)} AND event_id IN {ids:Array(String)} WHERE agent_id = {a:String} ${SMALL_READS}`,
          { a: agentId, revs: revocationIds, ids },
        )
      : Promise.resolve([]),
    timelineRevocations(client, agentId, revocationIds),
    agentContext(client, agentId, contextWindow, CONTEXT_PER_PAGE),
  ]);
  const byEvent = new Map<string, TimelineEvent["post_revocation"]>();
  for (const f of flags) {
    const list = byEvent.get(f.event_id) ?? [];
    list.push({ revocation_id: f.revocation_id, violation: f.violation, via: f.via });
    byEvent.set(f.event_id, list);
  }
  const items: TimelineEvent[] = paged.items.map((e) => {
    const { rev_scope, rev_subject, rev_reason, rev_cascade, cred_id, cred_kind, cred_parent_id, ...rest } = e;
    return {
      ...rest,
      revocation: rev_scope ? { scope: rev_scope, subject: rev_subject, reason: rev_reason, cascade: rev_cascade } : null,
      credential: cred_id ? { id: cred_id, kind: cred_kind, parent_id: cred_parent_id || null } : null,
      post_revocation: byEvent.get(e.event_id) ?? [],
    };
  });
  return {
    items,
    next_cursor: paged.next_cursor,
    /** Spans that are not tool calls (OpenTelemetry context), in the time this page covers. */
    context: context.spans satisfies ContextSpan[],
    context_truncated: context.truncated,
    revocations: revocations satisfies TimelineRevocation[],
  };
}
