"use client";
import type { PostRevocationAction } from "@/components/data/types";
import type { Column } from "@/components/ui/data-table";
import { DecisionBadge } from "@/components/ui/badges";
import { AgentLink, RevocationLink } from "@/components/ui/links";
import { Time } from "@/components/ui/time";

const mono = (v: unknown) => <span className="mono" title={String(v ?? "")}>{String(v || "—")}</span>;

/** Either side of an action, on the agent's page: enough to see it in context. */
const CONTEXT_MS = 3_600_000;

/**
 * The agent page's link for a pair: the hour either side of its action, with the action
 * selected. Without a window the page loads the newest events only, and an older action's
 * drawer would never open.
 */
function aroundAction(p: { event_id: string; time: string }) {
  const t = Date.parse(p.time);
  return { event: p.event_id, at: p.time, from: new Date(t - CONTEXT_MS).toISOString(), to: new Date(t + CONTEXT_MS).toISOString() };
}

export const pairColumns: Column<PostRevocationAction>[] = [
  { id: "time", header: "Time", accessorKey: "time", size: 200, cell: (c) => <Time value={c.row.original.time} /> },
  { id: "verdict", header: "Verdict", accessorFn: (p) => (p.violation ? 1 : 0), size: 120, cell: (c) => <DecisionBadge decision={c.row.original.decision} violation={c.row.original.violation} /> },
  { id: "agent_id", header: "Agent", accessorKey: "agent_id", size: 240, cell: (c) => <AgentLink id={c.row.original.agent_id} params={aroundAction(c.row.original)} /> },
  { id: "layer", header: "Layer", accessorKey: "layer", size: 100 },
  { id: "action", header: "Action", accessorKey: "action", size: 130, cell: (c) => mono(c.getValue()) },
  { id: "resource", header: "Resource", accessorKey: "resource", size: 200, cell: (c) => mono(c.getValue()) },
  { id: "decision", header: "Decision", accessorKey: "decision", size: 80, cell: (c) => <DecisionBadge decision={String(c.getValue())} /> },
  { id: "via", header: "Via", accessorKey: "via", size: 80 },
  {
    id: "origin",
    header: "Origin",
    accessorFn: (p) => (p.origin ? `${p.origin.service} ${p.origin.span_name}` : ""),
    size: 200,
    cell: (c) => {
      const o = c.row.original.origin;
      if (!o) return <span className="faint">native</span>;
      return (
        <span data-testid="pair-origin" title={`OpenTelemetry: trace ${o.trace_id}, span ${o.span_id}, export ${o.export_id || "not kept"}`}>
          OTel {o.service || "—"} · <span className="mono">{o.span_name}</span>
        </span>
      );
    },
  },
  { id: "credential_id", header: "Credential", accessorKey: "credential_id", size: 130, cell: (c) => mono(c.getValue()) },
  { id: "session_id", header: "Session", accessorKey: "session_id", size: 120, cell: (c) => mono(c.getValue()) },
  { id: "revocation_id", header: "Revocation", accessorKey: "revocation_id", size: 140, cell: (c) => <RevocationLink id={c.row.original.revocation_id} /> },
  { id: "event_id", header: "Event", accessorKey: "event_id", size: 140, cell: (c) => mono(c.getValue()) },
];

export const pairRowClass = (p: PostRevocationAction) => (p.violation ? "row-violation" : "row-blocked");
