"use client";
/** One endpoint's deliveries, newest first, with every attempt (time · result · duration); polled live. */
import { flattenPages } from "@/components/data/query";
import { useDeliveries } from "@/components/data/webhooks";
import type { DeliveryRow } from "@/components/data/types";
import { DataTable, type Column } from "@/components/ui/data-table";
import { Time } from "@/components/ui/time";
import { ErrorLine, errorText, tableHeight } from "./shared";

const ROW_HEIGHT = 52;

const columns: Column<DeliveryRow>[] = [
  { id: "created_at", header: "Created", accessorKey: "created_at", size: 170, cell: (c) => <Time value={c.row.original.created_at} ms={false} /> },
  {
    id: "type",
    header: "Event",
    accessorKey: "type",
    size: 200,
    cell: (c) => (
      <>
        {c.row.original.type}
        {c.row.original.alert_id && <div className="muted mono">{c.row.original.alert_id}</div>}
      </>
    ),
  },
  { id: "id", header: "webhook-id", accessorKey: "id", size: 280, cell: (c) => <code title={c.row.original.id}>{c.row.original.id}</code> },
  {
    id: "status",
    header: "Status",
    accessorKey: "status",
    size: 200,
    cell: (c) => {
      const d = c.row.original;
      return (
        <>
          <span className="badge badge-plain">{d.status}</span>
          {d.status === "pending" && d.attempts > 0 && (
            <div className="muted">
              next <Time value={d.next_attempt_at} ms={false} />
            </div>
          )}
        </>
      );
    },
  },
  {
    id: "attempts",
    header: "Attempts (time · result · duration)",
    accessorKey: "attempts",
    size: 420,
    cell: (c) => (
      <ul className="list-plain" style={{ display: "flex", flexDirection: "column-reverse", gap: 2 }}>
        {c.row.original.attempt_log.map((a) => (
          <li key={`${a.attempt}-${a.at}`} className="row" style={{ gap: 8 }}>
            <span>#{a.attempt}</span>
            <Time value={a.at} ms={false} />
            <span>{a.status_code !== null ? `HTTP ${a.status_code}` : a.error}</span>
            <span className="muted">{a.duration_ms} ms</span>
          </li>
        ))}
      </ul>
    ),
  },
];

export function Deliveries({ endpointId }: { endpointId: string }) {
  const list = useDeliveries(endpointId);
  const items = flattenPages(list.data);
  if (list.error && !list.data) return <ErrorLine error={errorText(list.error)} />;
  return (
    <DataTable
      label="Deliveries"
      data={items}
      columns={columns}
      rowId={(d) => d.id}
      rowHeight={ROW_HEIGHT}
      height={tableHeight(items.length, ROW_HEIGHT, 480)}
      onEndReached={list.hasNextPage && !list.isFetchingNextPage ? () => void list.fetchNextPage() : undefined}
      empty={<span className="muted">{list.isPending ? "Loading deliveries…" : "No deliveries yet."}</span>}
    />
  );
}
