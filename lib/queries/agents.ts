/**
 * Agents (SPEC §3): the list with last seen, pipelines, revoked? and containment; an
 * agent's page (sessions, credentials with lineage); its timeline with post-revocation
 * flags. Agent summaries come from the agent_summary view; revocation state from the
 * detection tables.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Containment } from "../detection/types";
import type { StoredEvent } from "../events/schema";
import { decodeCursor, page } from "../http/cursor";
import { queryRows } from "../store/clickhouse";
import { Conditions } from "./conditions";
import { allRevocations, worstContainment, type RevocationRow } from "./revocations";

export interface AgentListItem {
  agent_id: string;
  first_seen: string;
  last_seen: string;
  event_count: number;
  pipelines: string[];
  layers: string[];
  session_count: number;
  revoked: boolean;
  containment: Containment | null;
  violation_count: number;
  revocation_ids: string[];
}

/** What agent_summary knows; the rest of a list item comes from the detection tables. */
type SummaryRow = Omit<AgentListItem, "revoked" | "containment" | "violation_count" | "revocation_ids">;

const SUMMARY_SQL = `SELECT agent_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(event_count) AS event_count,
   arraySort(groupUniqArrayArray(pipelines)) AS pipelines, arraySort(groupUniqArrayArray(layers)) AS layers,
   uniqMerge(sessions) AS session_count
 FROM agent_summary`;

/** An agent is revoked while a revocation naming it (agent scope) has no reinstatement. */
function revocationState(agent: SummaryRow, revocations: RevocationRow[]) {
  const touching = revocations.filter(
    (r) =>
      r.agents.includes(agent.agent_id) ||
      (r.scope === "agent" && r.subject === agent.agent_id) ||
      (r.scope === "pipeline" && agent.pipelines.includes(r.subject)),
  );
  const revoked = touching.some(
    (r) => r.reinstated_at === null && ((r.scope === "agent" && r.subject === agent.agent_id) || (r.scope === "pipeline" && agent.pipelines.includes(r.subject))),
  );
  return {
    revoked,
    containment: worstContainment(touching.filter((r) => r.agents.includes(agent.agent_id)).map((r) => r.containment)),
    revocation_ids: touching.map((r) => r.event_id),
  };
}

async function violationsByAgent(client: ClickHouseClient, agentIds?: string[]): Promise<Map<string, number>> {
  const rows = await queryRows<{ agent_id: string; n: number }>(
    client,
    "api:agents:violations",
    `SELECT agent_id, count() AS n FROM post_revocation_actions FINAL WHERE violation ${agentIds ? "AND agent_id IN {ids:Array(String)}" : ""} GROUP BY agent_id`,
    agentIds ? { ids: agentIds } : {},
  );
  return new Map(rows.map((r) => [r.agent_id, Number(r.n)]));
}

function toItem(s: SummaryRow, revocations: RevocationRow[], violations: Map<string, number>): AgentListItem {
  return { ...s, event_count: Number(s.event_count), session_count: Number(s.session_count), ...revocationState(s, revocations), violation_count: violations.get(s.agent_id) ?? 0 };
}

export type AgentSort = "last_seen" | "agent_id" | "violation_count" | "event_count";

export interface AgentFilters {
  q?: string;
  pipeline_id?: string;
  revoked?: boolean;
  containment?: Containment;
  sort: AgentSort;
}

export async function listAgents(client: ClickHouseClient, f: AgentFilters, cursor: string | undefined, limit: number) {
  const params: Record<string, unknown> = {};
  const having: string[] = [];
  if (f.q) {
    having.push("positionCaseInsensitive(agent_id, {q:String}) > 0");
    params.q = f.q;
  }
  if (f.pipeline_id) {
    having.push("has(pipelines, {pipeline_id:String})");
    params.pipeline_id = f.pipeline_id;
  }
  const [summaries, revocations, violations] = await Promise.all([
    queryRows<SummaryRow>(client, "api:agents", `${SUMMARY_SQL} GROUP BY agent_id ${having.length ? `HAVING ${having.join(" AND ")}` : ""}`, params),
    allRevocations(client),
    violationsByAgent(client),
  ]);
  let items = summaries.map((s) => toItem(s, revocations, violations));
  if (f.revoked !== undefined) items = items.filter((a) => a.revoked === f.revoked);
  if (f.containment) items = items.filter((a) => a.containment === f.containment);
  // Sort key as a string that orders the way the list should (descending for all but agent_id).
  const sortKey = (a: AgentListItem): string => {
    switch (f.sort) {
      case "agent_id": return a.agent_id;
      case "violation_count": return String(a.violation_count).padStart(12, "0");
      case "event_count": return String(a.event_count).padStart(15, "0");
      default: return a.last_seen;
    }
  };
  const desc = f.sort !== "agent_id";
  const cmp = (a: AgentListItem, b: AgentListItem) => {
    const ka = sortKey(a), kb = sortKey(b);
    const c = ka < kb ? -1 : ka > kb ? 1 : a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0;
    return desc ? -c : c;
  };
  items.sort(cmp);
  const after = decodeCursor(cursor);
  if (after) {
    const pivot = { agent_id: after.id } as AgentListItem;
    items = items.filter((a) => {
      const ka = sortKey(a);
      const c = ka < after.t ? -1 : ka > after.t ? 1 : a.agent_id < pivot.agent_id ? -1 : a.agent_id > pivot.agent_id ? 1 : 0;
      return desc ? c < 0 : c > 0;
    });
  }
  return page(items.slice(0, limit + 1), limit, (a) => ({ t: sortKey(a), id: a.agent_id }));
}

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
  const [summary] = await queryRows<SummaryRow>(client, "api:agent", `${SUMMARY_SQL} WHERE agent_id = {a:String} GROUP BY agent_id`, { a: agentId });
  if (!summary) return null;
  const [revocations, violations, sessions, credentials] = await Promise.all([
    allRevocations(client),
    violationsByAgent(client, [agentId]),
    queryRows<{ session_id: string; started_at: string; last_seen: string; event_count: number; pipeline_id: string }>(
      client,
      "api:agent:sessions",
      `SELECT session_id, min(time) AS started_at, max(time) AS last_seen, count() AS event_count, any(pipeline_id) AS pipeline_id
       FROM events FINAL WHERE agent_id = {a:String} AND session_id != '' GROUP BY session_id ORDER BY started_at DESC LIMIT 500`,
      { a: agentId },
    ),
    credentialsOf(client, "agent", agentId),
  ]);
  return { ...toItem(summary, revocations, violations), sessions, credentials };
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

type EventRow = StoredEvent;

export async function agentTimeline(
  client: ClickHouseClient,
  agentId: string,
  range: { from?: string; to?: string },
  cursor: string | undefined,
  limit: number,
) {
  const c = new Conditions()
    .add("agent_id = {a:String}", { a: agentId })
    .timeRange("time", range.from, range.to)
    .before("time", "event_id", decodeCursor(cursor));
  const rows = await queryRows<EventRow>(
    client,
    "api:timeline",
    `SELECT event_id, type, time, agent_id, pipeline_id, session_id, credential_id, layer, source, action, resource, decision,
            sensitivity, trace_id, span_id, rev_scope, rev_subject, rev_reason, rev_cascade, rev_initiated_by, cred_id, cred_kind,
            cred_parent_id, cred_expires_at, attributes
     FROM events FINAL ${c.where} ORDER BY time DESC, event_id DESC LIMIT {limit:UInt32}`,
    { ...c.params, limit: limit + 1 },
  );
  const paged = page(rows, limit, (e) => ({ t: e.time, id: e.event_id }));
  const ids = paged.items.map((e) => e.event_id);
  const [flags, revocations] = await Promise.all([
    ids.length
      ? queryRows<{ event_id: string; revocation_id: string; violation: boolean; via: string }>(
          client,
          "api:timeline:flags",
          `SELECT event_id, revocation_id, violation, via FROM post_revocation_actions FINAL
           WHERE agent_id = {a:String} AND event_id IN {ids:Array(String)}`,
          { a: agentId, ids },
        )
      : Promise.resolve([]),
    allRevocations(client, { agent_id: agentId }),
  ]);
  const byEvent = new Map<string, TimelineEvent["post_revocation"]>();
  for (const f of flags) {
    const list = byEvent.get(f.event_id) ?? [];
    list.push({ revocation_id: f.revocation_id, violation: f.violation, via: f.via });
    byEvent.set(f.event_id, list);
  }
  const items: TimelineEvent[] = paged.items.map((e) => {
    const { rev_scope, rev_subject, rev_reason, rev_cascade, rev_initiated_by: _i, cred_id, cred_kind, cred_parent_id, cred_expires_at: _x, ...rest } = e;
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
    revocations: revocations.map((r) => ({
      event_id: r.event_id, time: r.time, scope: r.scope, subject: r.subject, reinstated_at: r.reinstated_at, containment: r.containment,
    })),
  };
}
