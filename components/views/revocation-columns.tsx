"use client";
import Link from "next/link";
import type { Revocation } from "@/components/data/types";
import type { Column } from "@/components/ui/data-table";
import { ContainmentBadge } from "@/components/ui/badges";
import { revocationHref } from "@/components/ui/links";
import { Time } from "@/components/ui/time";

const count = (n: number, colour?: string) => <span className="num" style={{ color: n ? colour : undefined }}>{n}</span>;

export const revocationColumns: Column<Revocation>[] = [
  {
    id: "time",
    header: "Revoked at",
    accessorKey: "time",
    size: 200,
    cell: (c) => (
      <Link href={revocationHref(c.row.original.event_id)} prefetch={false} onClick={(e) => e.stopPropagation()} data-testid="revocation-link">
        <Time value={c.row.original.time} ms={false} />
      </Link>
    ),
  },
  { id: "scope", header: "Scope", accessorKey: "scope", size: 100 },
  { id: "subject", header: "Subject", accessorKey: "subject", size: 280, cell: (c) => <span className="mono" title={c.row.original.subject}>{c.row.original.subject}</span> },
  { id: "containment", header: "Containment", accessorKey: "containment", size: 140, cell: (c) => <ContainmentBadge value={c.row.original.containment} /> },
  {
    id: "reinstated_at",
    header: "Reinstated",
    accessorFn: (r) => r.reinstated_at ?? "",
    size: 190,
    // A revocation without a reinstatement is still in force: its window is open.
    cell: (c) => (c.row.original.reinstated_at ? <Time value={c.row.original.reinstated_at} ms={false} /> : <span className="muted">in force</span>),
  },
  { id: "cascade", header: "Cascade", accessorFn: (r) => (r.cascade ? 1 : 0), size: 80, cell: (c) => (c.row.original.cascade ? "yes" : <span className="muted">no</span>) },
  { id: "agents", header: "Agents", accessorFn: (r) => r.agents.length, size: 80, cell: (c) => count(c.row.original.agents.length) },
  { id: "violation_count", header: "Violations", accessorKey: "violation_count", size: 100, cell: (c) => count(c.row.original.violation_count, "var(--violation)") },
  { id: "blocked_count", header: "Blocked", accessorKey: "blocked_count", size: 90, cell: (c) => count(c.row.original.blocked_count) },
  { id: "reason", header: "Reason", accessorKey: "reason", size: 240, cell: (c) => <span className="muted" title={c.row.original.reason}>{c.row.original.reason || "—"}</span> },
];
