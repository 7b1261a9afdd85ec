"use client";
import { useMemo } from "react";
import { useRouter } from "next/navigation";
import { useAgents } from "@/components/data/agents";
import { flattenPages } from "@/components/data/query";
import type { AgentSummary } from "@/components/data/types";
import { DataTable, type Column } from "@/components/ui/data-table";
import { ClearFilters, SelectFilter, TextFilter } from "@/components/ui/filters";
import { AgentLink, agentHref } from "@/components/ui/links";
import { ContainmentBadge } from "@/components/ui/badges";
import { Empty, QueryState } from "@/components/ui/states";
import { Time } from "@/components/ui/time";
import { pick, useUrlState } from "@/components/ui/url-state";

const FILTER_KEYS = ["q", "pipeline_id", "revoked", "containment", "sort"] as const;

const columns: Column<AgentSummary>[] = [
  { id: "agent_id", header: "Agent", accessorKey: "agent_id", size: 260, cell: (c) => <AgentLink id={c.row.original.agent_id} /> },
  { id: "pipelines", header: "Pipelines", accessorFn: (r) => r.pipelines.join(", "), size: 160, cell: (c) => <span className="mono">{c.getValue() || "—"}</span> },
  { id: "layers", header: "Layers", accessorFn: (r) => r.layers.join(", "), size: 180 },
  { id: "last_seen", header: "Last seen", accessorKey: "last_seen", size: 190, cell: (c) => <Time value={c.row.original.last_seen} ms={false} /> },
  { id: "event_count", header: "Events", accessorKey: "event_count", size: 80, cell: (c) => <span className="num">{Number(c.getValue()).toLocaleString("en-US")}</span> },
  {
    id: "revoked",
    header: "Revoked",
    accessorFn: (r) => (r.revoked ? 1 : 0),
    size: 90,
    cell: (c) => (c.row.original.revoked ? <span className="badge badge-revoked">⊘ revoked</span> : <span className="muted">no</span>),
  },
  { id: "containment", header: "Containment", accessorFn: (r) => r.containment ?? "", size: 130, cell: (c) => <ContainmentBadge value={c.row.original.containment} /> },
  {
    id: "violation_count",
    header: "Violations",
    accessorKey: "violation_count",
    size: 90,
    cell: (c) => {
      const n = Number(c.getValue());
      return <span className="num" style={{ color: n ? "var(--violation)" : undefined }}>{n ? `▲ ${n}` : "0"}</span>;
    },
  },
];

export function AgentsListView() {
  const { all } = useUrlState();
  const filters = useMemo(() => pick(all, FILTER_KEYS), [all]);
  const query = useAgents(filters);
  const router = useRouter();
  const rows = useMemo(() => flattenPages(query.data), [query.data]);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Agents</h1>
          <div className="sub">Every non-human identity seen in telemetry, with its revocation status and containment.</div>
        </div>
      </div>
      <div className="filters" role="search">
        <TextFilter name="q" label="Search agent id" placeholder="agent id contains…" width={240} />
        <TextFilter name="pipeline_id" label="Pipeline" placeholder="pipeline id" width={160} />
        <SelectFilter name="revoked" label="Revoked" options={[{ value: "true", label: "Revoked" }, { value: "false", label: "Not revoked" }]} />
        <SelectFilter name="containment" label="Containment" options={["contained", "partial", "uncontained"]} />
        <SelectFilter
          name="sort"
          label="Sort by"
          options={[
            { value: "last_seen", label: "Last seen" },
            { value: "violation_count", label: "Violations" },
            { value: "event_count", label: "Events" },
            { value: "agent_id", label: "Agent id" },
          ]}
        />
        <ClearFilters keys={[...FILTER_KEYS]} />
      </div>
      <QueryState query={query} height={520}>
        {() => (
          <DataTable
            label="Agents"
            testId="agents-table"
            data={rows}
            columns={columns}
            rowId={(r) => r.agent_id}
            height={Math.min(640, Math.max(200, rows.length * 34 + 8))}
            onRowClick={(r) => router.push(agentHref(r.agent_id))}
            onEndReached={query.hasNextPage && !query.isFetchingNextPage ? () => void query.fetchNextPage() : undefined}
            empty={<Empty title="No agents match" height={180}>Agents appear here as soon as their telemetry is ingested.</Empty>}
            footer={
              <>
                <span>
                  {rows.length.toLocaleString("en-US")} agent{rows.length === 1 ? "" : "s"}
                  {query.hasNextPage ? " loaded · scroll for more" : ""}
                </span>
                {query.isFetching && <span className="faint">refreshing…</span>}
              </>
            }
          />
        )}
      </QueryState>
    </>
  );
}
