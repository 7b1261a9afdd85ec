"use client";
import type { TimelineEvent } from "@/components/data/types";
import type { Column } from "@/components/ui/data-table";
import { DecisionBadge } from "@/components/ui/badges";
import { Time } from "@/components/ui/time";
import { markKind } from "@/components/timeline/model";

export const eventColumns: Column<TimelineEvent>[] = [
  { id: "time", header: "Time", accessorKey: "time", size: 200, cell: (c) => <Time value={c.row.original.time} /> },
  {
    id: "flag",
    header: "After revocation",
    accessorFn: (e) => ({ violation: 2, blocked: 1, normal: 0, other: 0 })[markKind(e)],
    size: 130,
    cell: (c) => {
      const k = markKind(c.row.original);
      return k === "violation" || k === "blocked" ? <DecisionBadge decision={c.row.original.decision} violation={k === "violation"} /> : <span className="faint">—</span>;
    },
  },
  { id: "type", header: "Type", accessorKey: "type", size: 120 },
  { id: "layer", header: "Layer", accessorKey: "layer", size: 100 },
  { id: "action", header: "Action", accessorKey: "action", size: 140, cell: (c) => <span className="mono">{String(c.getValue() || "—")}</span> },
  { id: "resource", header: "Resource", accessorKey: "resource", size: 220, cell: (c) => <span className="mono" title={String(c.getValue())}>{String(c.getValue() || "—")}</span> },
  {
    id: "decision",
    header: "Decision",
    accessorKey: "decision",
    size: 90,
    // Only actions have a decision; other events (issues, revocations, sessions) show a dash.
    cell: (c) => (c.row.original.type === "action" ? <DecisionBadge decision={String(c.getValue())} /> : <span className="faint">—</span>),
  },
  {
    id: "credential_id",
    header: "Credential",
    accessorKey: "credential_id",
    size: 150,
    // A credential_issued event names the credential it issued rather than one it presented.
    cell: (c) => <span className="mono">{String(c.getValue() || c.row.original.credential?.id || "—")}</span>,
  },
  { id: "session_id", header: "Session", accessorKey: "session_id", size: 130, cell: (c) => <span className="mono">{String(c.getValue() || "—")}</span> },
];

export const eventColumnsWithAgent: Column<TimelineEvent>[] = [
  eventColumns[0],
  eventColumns[1],
  { id: "agent_id", header: "Agent", accessorKey: "agent_id", size: 160, cell: (c) => <span className="mono">{String(c.getValue())}</span> },
  ...eventColumns.slice(3),
];

export function eventRowClass(e: TimelineEvent): string | undefined {
  const k = markKind(e);
  return k === "violation" ? "row-violation" : k === "blocked" ? "row-blocked" : undefined;
}
