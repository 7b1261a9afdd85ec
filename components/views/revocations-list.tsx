"use client";
import { useMemo } from "react";
import { useRouter } from "next/navigation";
import { flattenPages } from "@/components/data/query";
import { useRevocations, type RevocationFilters } from "@/components/data/revocations";
import { DataTable } from "@/components/ui/data-table";
import { ClearFilters, SelectFilter, TextFilter } from "@/components/ui/filters";
import { revocationHref } from "@/components/ui/links";
import { Empty, QueryState } from "@/components/ui/states";
import { TimeRangePicker, useTimeRange } from "@/components/ui/time-range";
import { pick, useUrlState } from "@/components/ui/url-state";
import { revocationColumns } from "./revocation-columns";

const FILTER_KEYS = ["scope", "subject", "containment", "agent_id", "pipeline_id"] as const;

export function RevocationsListView() {
  const { all } = useUrlState();
  // Revocations are rare next to actions: every one is shown unless a range is picked.
  const range = useTimeRange("all");
  const filters: RevocationFilters = useMemo(() => ({ ...pick(all, FILTER_KEYS), from: range.from, to: range.to }), [all, range.from, range.to]);
  const query = useRevocations(filters);
  const rows = useMemo(() => flattenPages(query.data), [query.data]);
  const router = useRouter();
  const leaking = rows.filter((r) => r.containment !== "contained").length;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Revocations</h1>
          <div className="sub">Every revocation seen, newest first, with how well it was contained: the actions covered by it after it took effect, blocked or not.</div>
        </div>
      </div>
      <div className="filters" role="search">
        <SelectFilter name="scope" label="Scope" options={["agent", "session", "credential", "pipeline"]} />
        <TextFilter name="subject" label="Subject" placeholder="exact id" width={220} />
        <SelectFilter name="containment" label="Containment" options={["contained", "partial", "uncontained"]} />
        <TextFilter name="agent_id" label="Agent" placeholder="agent id" width={180} />
        <TextFilter name="pipeline_id" label="Pipeline" placeholder="pipeline id" width={160} />
        <ClearFilters keys={[...FILTER_KEYS, "from", "to", "range"]} />
        <div style={{ flexBasis: "100%" }} />
        <TimeRangePicker fallback="all" />
      </div>
      <QueryState query={query} height={520}>
        {() => (
          <DataTable
            label="Revocations"
            testId="revocations-list"
            data={rows}
            columns={revocationColumns}
            rowId={(r) => r.event_id}
            height={Math.min(640, Math.max(200, rows.length * 34 + 8))}
            onRowClick={(r) => router.push(revocationHref(r.event_id))}
            onEndReached={query.hasNextPage && !query.isFetchingNextPage ? () => void query.fetchNextPage() : undefined}
            empty={<Empty title="No revocations match" height={180}>Revocation events, from Kafka, the API or a Shared Signals stream, appear here once ingested.</Empty>}
            footer={
              <>
                <span data-testid="revocations-count">
                  {rows.length.toLocaleString("en-US")} revocation{rows.length === 1 ? "" : "s"}
                  {query.hasNextPage ? " loaded · scroll for more" : ""}
                </span>
                <span>{leaking} not fully contained</span>
                {query.isFetchingNextPage && <span className="faint">loading more…</span>}
              </>
            }
          />
        )}
      </QueryState>
    </>
  );
}
