"use client";
import { useMemo } from "react";
import { useRouter } from "next/navigation";
import { usePipelines } from "@/components/data/pipelines";
import { flattenPages } from "@/components/data/query";
import type { PipelineSummary } from "@/components/data/types";
import { ContainmentBadge } from "@/components/ui/badges";
import { DataTable, type Column } from "@/components/ui/data-table";
import { TextFilter } from "@/components/ui/filters";
import { PipelineLink, pipelineHref } from "@/components/ui/links";
import { Empty, ErrorState, Loading } from "@/components/ui/states";
import { Time } from "@/components/ui/time";
import { useUrlState } from "@/components/ui/url-state";

const columns: Column<PipelineSummary>[] = [
  { id: "pipeline_id", header: "Pipeline", accessorKey: "pipeline_id", size: 240, cell: (c) => <PipelineLink id={c.row.original.pipeline_id} /> },
  { id: "agents", header: "Agents", accessorFn: (p) => p.agents.length, size: 80, cell: (c) => <span className="num">{String(c.getValue())}</span> },
  { id: "members", header: "Members", accessorFn: (p) => p.agents.join(", "), size: 320, cell: (c) => <span className="mono muted">{String(c.getValue())}</span> },
  { id: "last_seen", header: "Last seen", accessorKey: "last_seen", size: 190, cell: (c) => <Time value={c.row.original.last_seen} ms={false} /> },
  { id: "revocation_count", header: "Revocations", accessorKey: "revocation_count", size: 100, cell: (c) => <span className="num">{String(c.getValue() ?? 0)}</span> },
  {
    id: "violation_count",
    header: "Violations",
    accessorKey: "violation_count",
    size: 100,
    cell: (c) => {
      const n = Number(c.getValue() ?? 0);
      return <span className="num" style={{ color: n ? "var(--violation)" : undefined }}>{n ? `▲ ${n}` : "0"}</span>;
    },
  },
  { id: "containment", header: "Containment", accessorFn: (p) => p.containment ?? "", size: 130, cell: (c) => <ContainmentBadge value={c.row.original.containment} /> },
];

export function PipelinesListView() {
  const { get } = useUrlState();
  const query = usePipelines(get("q"));
  const rows = useMemo(() => flattenPages(query.data), [query.data]);
  const router = useRouter();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Pipelines</h1>
          <div className="sub">Multi-agent workflows: who runs in them, which revocations touched them, and how well they were contained.</div>
        </div>
      </div>
      <div className="filters" role="search">
        <TextFilter name="q" label="Search pipeline id" placeholder="pipeline id contains…" width={260} />
      </div>
      {query.isPending ? (
        <Loading height={400} />
      ) : query.error && !query.data ? (
        <ErrorState error={query.error} height={400} retry={() => void query.refetch()} />
      ) : (
        <DataTable
          label="Pipelines"
          testId="pipelines-table"
          data={rows}
          columns={columns}
          rowId={(p) => p.pipeline_id}
          height={Math.min(640, Math.max(200, rows.length * 34 + 8))}
          onRowClick={(p) => router.push(pipelineHref(p.pipeline_id))}
          onEndReached={query.hasNextPage && !query.isFetchingNextPage ? () => void query.fetchNextPage() : undefined}
          empty={<Empty title="No pipelines" height={180}>Events with a pipeline_id create pipelines here.</Empty>}
          footer={<span>{rows.length} pipeline{rows.length === 1 ? "" : "s"}</span>}
        />
      )}
    </>
  );
}
