"use client";
import { useMemo } from "react";
import { useRouter } from "next/navigation";
import { useAlerts } from "@/components/data/alerts";
import { flattenPages } from "@/components/data/query";
import { DataTable } from "@/components/ui/data-table";
import { ClearFilters, SelectFilter, TextFilter } from "@/components/ui/filters";
import { alertHref } from "@/components/ui/links";
import { RULE_LABEL } from "@/components/ui/badges";
import { Empty, ErrorState, Loading } from "@/components/ui/states";
import { pick, useUrlState } from "@/components/ui/url-state";
import { alertColumns } from "./alert-columns";

const FILTER_KEYS = ["status", "rule", "severity", "agent_id", "pipeline_id"] as const;

export function AlertsListView() {
  const { all } = useUrlState();
  const filters = useMemo(() => pick(all, FILTER_KEYS), [all]);
  const query = useAlerts(filters);
  const rows = useMemo(() => flattenPages(query.data), [query.data]);
  const router = useRouter();
  const open = rows.filter((a) => a.status === "open").length;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Alerts</h1>
          <div className="sub">Raised when an agent acts after a revocation that covers it, directly or through delegation, or when containment is partial.</div>
        </div>
      </div>
      <div className="filters" role="search">
        <SelectFilter name="status" label="Status" options={["open", "acknowledged", "resolved"]} />
        <SelectFilter name="rule" label="Rule" options={Object.entries(RULE_LABEL).map(([value, label]) => ({ value, label }))} />
        <SelectFilter name="severity" label="Severity" options={["critical", "high"]} />
        <TextFilter name="agent_id" label="Agent" placeholder="agent id" width={180} />
        <TextFilter name="pipeline_id" label="Pipeline" placeholder="pipeline id" width={160} />
        <ClearFilters keys={[...FILTER_KEYS]} />
      </div>
      {query.isPending ? (
        <Loading height={480} />
      ) : query.error && !query.data ? (
        <ErrorState error={query.error} height={480} retry={() => void query.refetch()} />
      ) : (
        <DataTable
          label="Alerts"
          testId="alerts-table"
          data={rows}
          columns={alertColumns}
          rowId={(a) => a.id}
          height={Math.min(640, Math.max(200, rows.length * 34 + 8))}
          onRowClick={(a) => router.push(alertHref(a.id))}
          onEndReached={query.hasNextPage && !query.isFetchingNextPage ? () => void query.fetchNextPage() : undefined}
          empty={<Empty title="No alerts match" height={180}>New alerts appear here within two seconds of detection.</Empty>}
          footer={
            <span>
              {rows.length} alert{rows.length === 1 ? "" : "s"} · {open} open
            </span>
          }
        />
      )}
    </>
  );
}
