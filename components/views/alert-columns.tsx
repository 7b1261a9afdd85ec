"use client";
import Link from "next/link";
import type { Alert } from "@/components/data/types";
import type { Column } from "@/components/ui/data-table";
import { RULE_LABEL, SeverityBadge, StatusBadge } from "@/components/ui/badges";
import { AgentLink, PipelineLink, alertHref } from "@/components/ui/links";
import { Time } from "@/components/ui/time";

export const alertColumns: Column<Alert>[] = [
  { id: "severity", header: "Severity", accessorKey: "severity", size: 110, cell: (c) => <SeverityBadge value={c.row.original.severity} /> },
  { id: "status", header: "Status", accessorKey: "status", size: 150, cell: (c) => <StatusBadge value={c.row.original.status} /> },
  {
    id: "rule",
    header: "Rule",
    accessorKey: "rule",
    size: 210,
    cell: (c) => (
      <Link href={alertHref(c.row.original.id)} prefetch={false} onClick={(e) => e.stopPropagation()}>
        {RULE_LABEL[c.row.original.rule] ?? c.row.original.rule}
      </Link>
    ),
  },
  { id: "agent_id", header: "Agent", accessorFn: (a) => a.agent_id ?? "", size: 180, cell: (c) => <AgentLink id={c.row.original.agent_id} /> },
  { id: "pipeline_id", header: "Pipeline", accessorFn: (a) => a.pipeline_id ?? "", size: 130, cell: (c) => <PipelineLink id={c.row.original.pipeline_id} /> },
  { id: "layers_leaking", header: "Leaking", accessorFn: (a) => a.layers_leaking.join(", "), size: 120, cell: (c) => <span style={{ color: "var(--violation)" }}>{String(c.getValue() || "—")}</span> },
  { id: "violation_count", header: "Violations", accessorKey: "violation_count", size: 90, cell: (c) => <span className="num">▲ {String(c.getValue())}</span> },
  { id: "last_violation_at", header: "Last violation", accessorKey: "last_violation_at", size: 190, cell: (c) => <Time value={c.row.original.last_violation_at} ms={false} /> },
  { id: "updated_at", header: "Updated", accessorKey: "updated_at", size: 190, cell: (c) => <Time value={c.row.original.updated_at} ms={false} /> },
];
