"use client";
import { useMemo } from "react";
import { exportUrl, usePostRevocationActions, type PostRevocationFilters } from "@/components/data/investigate";
import { flattenPages } from "@/components/data/query";
import { useRoleAtLeast } from "@/components/data/session";
import { DataTable } from "@/components/ui/data-table";
import { ClearFilters, SelectFilter, TextFilter } from "@/components/ui/filters";
import { Empty, QueryState } from "@/components/ui/states";
import { TimeRangePicker, useTimeRange } from "@/components/ui/time-range";
import { pick, useUrlState } from "@/components/ui/url-state";
import { pairColumns, pairRowClass } from "./pair-columns";

const KEYS = ["agent_id", "pipeline_id", "credential_id", "session_id", "revocation_id", "layer", "decision", "violation", "via"] as const;

export function InvestigateView() {
  const { all } = useUrlState();
  const range = useTimeRange("all");
  const filters: PostRevocationFilters = useMemo(() => ({ ...pick(all, KEYS), from: range.from, to: range.to }), [all, range.from, range.to]);
  const query = usePostRevocationActions(filters, { limit: 1000 });
  const rows = useMemo(() => flattenPages(query.data), [query.data]);
  // Exports are the investigator's (docs/ROLES.md): a lesser role is told so instead of a link the server refuses.
  const mayExport = useRoleAtLeast("investigator");
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Investigate</h1>
          <div className="sub">Every covered action after a revocation: one row per (action, revocation) pair. Export streams the whole result.</div>
        </div>
        <div className="page-head-actions">
          {mayExport === false ? (
            <span className="faint" data-testid="export-needs-role">
              Exports need the investigator role.
            </span>
          ) : (
            <>
              <a className="btn btn-primary" href={exportUrl(filters, "csv")} download data-testid="export-csv">
                ⤓ Export CSV
              </a>
              <a className="btn" href={exportUrl(filters, "ndjson")} download data-testid="export-ndjson">
                ⤓ Export NDJSON
              </a>
            </>
          )}
        </div>
      </div>
      <div className="filters" role="search">
        <TextFilter name="agent_id" label="Agent" placeholder="agent id" width={170} />
        <TextFilter name="pipeline_id" label="Pipeline" placeholder="pipeline id" width={140} />
        <TextFilter name="credential_id" label="Credential" placeholder="credential id" width={140} />
        <TextFilter name="session_id" label="Session" placeholder="session id" width={140} />
        <TextFilter name="revocation_id" label="Revocation" placeholder="revocation event id" width={150} />
        <TextFilter name="layer" label="Layer" placeholder="gateway, tool…" width={110} />
        <SelectFilter name="decision" label="Decision" options={["allow", "deny", "unknown"]} />
        <SelectFilter name="violation" label="Verdict" options={[{ value: "true", label: "Violations" }, { value: "false", label: "Blocked attempts" }]} />
        <SelectFilter name="via" label="Covered via" options={["direct", "cascade"]} />
        <ClearFilters keys={[...KEYS, "from", "to", "range"]} />
        <div style={{ flexBasis: "100%" }} />
        <TimeRangePicker fallback="all" />
      </div>
      <QueryState query={query} height={520}>
        {() => (
          <DataTable
            label="Post-revocation actions"
            testId="investigate-table"
            data={rows}
            columns={pairColumns}
            rowId={(p) => `${p.event_id}:${p.revocation_id}`}
            rowClassName={pairRowClass}
            height={560}
            onEndReached={query.hasNextPage && !query.isFetchingNextPage ? () => void query.fetchNextPage() : undefined}
            empty={<Empty title="No post-revocation actions match" height={200}>Widen the time range or clear filters.</Empty>}
            footer={
              <>
                <span data-testid="investigate-count">
                  {rows.length.toLocaleString("en-US")} row{rows.length === 1 ? "" : "s"}
                  {query.hasNextPage ? " loaded · scroll for more" : ""}
                </span>
                <span>
                  ▲ {rows.filter((r) => r.violation).length} violations · ■ {rows.filter((r) => !r.violation).length} blocked
                </span>
                {query.isFetchingNextPage && <span className="faint">loading more…</span>}
              </>
            }
          />
        )}
      </QueryState>
    </>
  );
}
