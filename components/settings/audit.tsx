"use client";
/**
 * The audit log, newest first, filterable by action and actor, paged with the API's cursor as
 * the table scrolls. The filters live in the URL like every list's (a filtered view is a link
 * to send a colleague), typed with the lists' debounce.
 */
import { useAudit } from "@/components/data/audit";
import { flattenPages } from "@/components/data/query";
import type { AuditEntry } from "@/components/data/types";
import { DataTable, type Column } from "@/components/ui/data-table";
import { ClearFilters, TextFilter } from "@/components/ui/filters";
import { useUrlState } from "@/components/ui/url-state";
import { Time } from "@/components/ui/time";
import { ErrorLine, errorText, tableHeight } from "./shared";

const columns: Column<AuditEntry>[] = [
  { id: "at", header: "Time", accessorKey: "at", size: 190, cell: (c) => <Time value={c.row.original.at} ms={false} /> },
  {
    id: "actor",
    header: "Actor",
    accessorKey: "actor_name",
    size: 220,
    cell: (c) => (
      <span title={c.row.original.actor_kind}>
        {c.row.original.actor_name || <span className="faint">anonymous</span>} <span className="muted">{c.row.original.actor_kind}</span>
      </span>
    ),
  },
  { id: "action", header: "Action", accessorKey: "action", size: 160, cell: (c) => <code>{c.row.original.action}</code> },
  { id: "target", header: "Target", accessorKey: "target", size: 220, cell: (c) => <span className="mono">{c.row.original.target}</span> },
  {
    id: "details",
    header: "Details",
    accessorFn: (e) => (Object.keys(e.details).length ? JSON.stringify(e.details) : ""),
    size: 300,
    cell: (c) => <code className="muted" title={String(c.getValue())}>{String(c.getValue())}</code>,
  },
  { id: "ip", header: "Address", accessorKey: "ip", size: 130, cell: (c) => <span className="mono">{c.row.original.ip}</span> },
];

export function AuditLog() {
  const { get } = useUrlState();
  const pages = useAudit({ action: get("action"), actor: get("actor") });
  const items = flattenPages(pages.data);

  return (
    <div className="stack">
      <div className="card row" role="search">
        <TextFilter name="action" label="Action" placeholder="auth.login" />
        <TextFilter name="actor" label="Actor" placeholder="email or key id" />
        <ClearFilters keys={["action", "actor"]} />
      </div>
      <ErrorLine error={pages.error ? errorText(pages.error) : null} />
      <DataTable
        label="Audit log"
        data={items}
        columns={columns}
        rowId={(e) => e.id}
        height={tableHeight(items.length, 34, 640)}
        onEndReached={pages.hasNextPage && !pages.isFetchingNextPage ? () => void pages.fetchNextPage() : undefined}
        empty={pages.isFetching ? <span className="muted">Loading…</span> : <span className="muted">Nothing recorded.</span>}
        footer={<span>{items.length} entr{items.length === 1 ? "y" : "ies"}{pages.hasNextPage ? " · scroll for older" : ""}</span>}
      />
    </div>
  );
}
