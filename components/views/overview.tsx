"use client";
import Link from "next/link";
import { useMemo } from "react";
import { useRouter } from "next/navigation";
import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis, ResponsiveContainer } from "recharts";
import { useDeadLetters, useOverview } from "@/components/data/system";
import type { Overview } from "@/components/data/types";
import { DataTable } from "@/components/ui/data-table";
import { alertHref } from "@/components/ui/links";
import { Empty, ErrorState, Loading } from "@/components/ui/states";
import { Time, formatDuration, useFormatTime } from "@/components/ui/time";
import { TimeRangePicker, useTimeRange } from "@/components/ui/time-range";
import { alertColumns } from "./alert-columns";
import { timeTicks } from "@/components/timeline/model";

const compactAlertColumns = alertColumns.filter((c) => ["severity", "status", "rule", "agent_id", "violation_count", "last_violation_at"].includes(c.id ?? ""));

function Tile({ label, value, note, tone, href, testId }: { label: string; value: number | string | undefined; note?: string; tone?: "bad" | "warn"; href?: string; testId?: string }) {
  const body = (
    <>
      <span className="tile-label">{label}</span>
      <span className="tile-value" data-testid={testId}>{value === undefined ? <span className="skeleton">000</span> : typeof value === "number" ? value.toLocaleString("en-US") : value}</span>
      <span className="tile-note">{note ?? "\u00a0"}</span>
    </>
  );
  const cls = `tile${tone && value ? ` tile-${tone}` : ""}`;
  return href ? (
    <Link className={cls} href={href}>
      {body}
    </Link>
  ) : (
    <div className={cls}>{body}</div>
  );
}

const HATCH_ID = "blocked-hatch";

function SeriesChart({ data }: { data: Overview }) {
  const fmt = useFormatTime();
  const rows = useMemo(() => data.series.map((s) => ({ t: Date.parse(s.time), violations: s.violations, blocked: s.blocked })), [data.series]);
  if (rows.length === 0) return <Empty title="No post-revocation actions in this range" height={220}>Good news, or nothing has been revoked.</Empty>;
  const span = Date.parse(data.to) - Date.parse(data.from);
  return (
    <ResponsiveContainer width="100%" height={220}>
      <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} barGap={1}>
        <defs>
          <pattern id={HATCH_ID} patternUnits="userSpaceOnUse" width={6} height={6} patternTransform="rotate(45)">
            <rect width={6} height={6} fill="rgba(245,165,36,0.25)" />
            <line x1={0} y1={0} x2={0} y2={6} stroke="#f5a524" strokeWidth={3} />
          </pattern>
        </defs>
        <CartesianGrid stroke="#1f2a36" vertical={false} />
        <XAxis
          dataKey="t"
          type="number"
          scale="time"
          domain={[Date.parse(data.from), Date.parse(data.to)]}
          ticks={timeTicks([Date.parse(data.from), Date.parse(data.to)], 8)}
          interval={0}
          tickFormatter={(v: number) => fmt(v, { ms: false, date: span > 2 * 86_400_000 })}
          stroke="#4a5b6e"
          tick={{ fill: "#9aa8b7", fontSize: 11 }}
        />
        <YAxis allowDecimals={false} stroke="#4a5b6e" tick={{ fill: "#9aa8b7", fontSize: 11 }} width={40} />
        <Tooltip
          contentStyle={{ background: "#0d141c", border: "1px solid #35465a", fontSize: 12 }}
          labelFormatter={(v) => fmt(Number(v), { ms: false })}
          cursor={{ fill: "rgba(255,255,255,0.04)" }}
        />
        <Bar dataKey="violations" name="▲ violations" fill="#ff4d5e" isAnimationActive={false} maxBarSize={14} />
        <Bar dataKey="blocked" name="■ blocked (hatched)" fill={`url(#${HATCH_ID})`} stroke="#f5a524" isAnimationActive={false} maxBarSize={14} />
      </BarChart>
    </ResponsiveContainer>
  );
}

function Breakdown({ items }: { items: { label: React.ReactNode; value: number; color: string; pattern?: boolean }[] }) {
  const max = Math.max(1, ...items.map((i) => i.value));
  return (
    <div className="stack" style={{ gap: 10 }}>
      {items.map((i, n) => (
        <div key={n} style={{ display: "grid", gridTemplateColumns: "150px 1fr 60px", gap: 10, alignItems: "center" }}>
          <span className="truncate">{i.label}</span>
          <div className="bar">
            <span style={{ width: `${(i.value / max) * 100}%`, background: i.pattern ? `repeating-linear-gradient(45deg, ${i.color} 0 3px, transparent 3px 6px)` : i.color }} />
          </div>
          <span className="num">{i.value.toLocaleString("en-US")}</span>
        </div>
      ))}
    </div>
  );
}

export function OverviewView() {
  // No "All": the overview's counts and chart are of a bounded range (24 h unless asked).
  const range = useTimeRange("24h", { all: false, moving: true });
  const q = useOverview({ from: range.from, to: range.to });
  const dead = useDeadLetters(5);
  const router = useRouter();
  const d = q.data;
  const c = d?.counts;
  const rangeParams = new URLSearchParams(range.key === "custom" ? { from: range.from ?? "", to: range.to ?? "" } : { range: range.key }).toString();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Overview</h1>
          <div className="sub">
            Agents acting after their credentials were revoked.{" "}
            {d?.last_event_at ? (
              <>
                Newest event: <Time value={d.last_event_at} ms={false} />
              </>
            ) : null}
          </div>
        </div>
        <div className="page-head-actions">
          <TimeRangePicker fallback="24h" custom={false} all={false} />
        </div>
      </div>
      {q.error && !d ? <ErrorState error={q.error} height={120} retry={() => void q.refetch()} /> : null}
      <div className="tiles">
        <Tile label="Agents active" value={c?.agents_active} href="/agents" testId="tile-agents" />
        <Tile label="Revocations" value={c?.revocations} note="effective in range" />
        <Tile label="Violations" value={c?.violations} tone="bad" note="▲ acted after revocation" href={`/investigate?violation=true&${rangeParams}`} testId="tile-violations" />
        <Tile label="Blocked" value={c?.blocked} tone="warn" note="■ denied after revocation" href={`/investigate?violation=false&${rangeParams}`} />
        <Tile label="Partial" value={c?.partial} tone="warn" note="◐ some layers leak" />
        <Tile label="Uncontained" value={c?.uncontained} tone="bad" note="○ nothing blocked" />
        <Tile label="Open critical" value={c?.open_alerts?.critical ?? (c ? 0 : undefined)} tone="bad" note="◆◆ alerts" href="/alerts?status=open&severity=critical" testId="tile-open-critical" />
        <Tile label="Open high" value={c?.open_alerts?.high ?? (c ? 0 : undefined)} tone="warn" note="◆ alerts" href="/alerts?status=open&severity=high" />
        <Tile label="Dead-lettered" value={c?.dead_letters} tone="warn" note="events rejected at ingest" />
      </div>
      <div className="grid grid-main-side">
        <div className="card">
          <div className="card-head">
            <h2>Violations and blocked attempts over time</h2>
            <div className="right timeline-legend">
              <span className="legend-item">
                <span style={{ display: "inline-block", width: 12, height: 12, background: "#ff4d5e" }} /> ▲ violations
              </span>
              <span className="legend-item">
                <span style={{ display: "inline-block", width: 12, height: 12, background: "repeating-linear-gradient(45deg,#f5a524 0 3px,transparent 3px 6px)", border: "1px solid #f5a524" }} /> ■ blocked
              </span>
            </div>
          </div>
          {d ? <SeriesChart data={d} /> : q.error ? <Empty title="Unavailable" height={220} /> : <Loading height={220} />}
        </div>
        <div className="card">
          <div className="card-head">
            <h2>Containment of revocations</h2>
          </div>
          {d ? (
            <Breakdown
              items={[
                { label: "● contained", value: d.containment.contained, color: "var(--ok)" },
                { label: "◐ partial", value: d.containment.partial, color: "var(--blocked)", pattern: true },
                { label: "○ uncontained", value: d.containment.uncontained, color: "var(--violation)" },
              ]}
            />
          ) : (
            <Loading height={120} />
          )}
        </div>
      </div>
      <div className="grid grid-2 section">
        <div className="card">
          <div className="card-head">
            <h2>Layers that leak most</h2>
          </div>
          {!d ? (
            <Loading height={140} />
          ) : d.leaking_layers.length === 0 ? (
            <Empty title="No post-revocation actions" height={140} />
          ) : (
            <table className="simple" data-testid="leaking-layers">
              <thead>
                <tr>
                  <th>Layer</th>
                  <th>Violations</th>
                  <th className="num">▲</th>
                  <th className="num">■ blocked</th>
                </tr>
              </thead>
              <tbody>
                {d.leaking_layers.map((l) => {
                  const max = Math.max(1, ...d.leaking_layers.map((x) => x.violations));
                  return (
                    <tr key={l.layer}>
                      <td className="mono">{l.layer}</td>
                      <td style={{ width: "45%" }}>
                        <div className="bar">
                          <span style={{ width: `${(l.violations / max) * 100}%`, background: "var(--violation)" }} />
                        </div>
                      </td>
                      <td className="num" style={{ color: l.violations ? "var(--violation)" : undefined }}>
                        {l.violations}
                      </td>
                      <td className="num">{l.blocked}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </div>
        <div className="card">
          <div className="card-head">
            <h2>Propagation delay per layer</h2>
            <span className="faint" style={{ fontSize: 12 }}>first blocked attempt − revocation</span>
          </div>
          {!d ? (
            <Loading height={140} />
          ) : d.propagation.length === 0 ? (
            <Empty title="No layer has blocked anything yet" height={140} />
          ) : (
            <table className="simple" data-testid="propagation">
              <thead>
                <tr>
                  <th>Layer</th>
                  <th className="num">Median</th>
                  <th className="num">Max</th>
                  <th className="num">Revocations</th>
                </tr>
              </thead>
              <tbody>
                {d.propagation.map((p) => (
                  <tr key={p.layer}>
                    <td className="mono">{p.layer}</td>
                    <td className="num">{formatDuration(p.median_ms)}</td>
                    <td className="num">{formatDuration(p.max_ms)}</td>
                    <td className="num">{p.revocations}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <div className="grid grid-main-side section">
        <div className="card">
          <div className="card-head">
            <h2>Newest alerts</h2>
            <div className="right">
              <Link href="/alerts" className="btn btn-sm">
                All alerts →
              </Link>
            </div>
          </div>
          {!d ? (
            <Loading height={200} />
          ) : (
            <DataTable
              label="Newest alerts"
              testId="newest-alerts"
              data={d.newest_alerts}
              columns={compactAlertColumns}
              rowId={(a) => a.id}
              height={Math.max(120, d.newest_alerts.length * 34 + 4)}
              onRowClick={(a) => router.push(alertHref(a.id))}
              empty={<Empty title="No alerts" height={100} />}
            />
          )}
        </div>
        <div className="card">
          <div className="card-head">
            <h2>Dead letters</h2>
            <span className="faint" style={{ fontSize: 12 }}>{dead.data ? `${dead.data.count} total` : ""}</span>
          </div>
          {!dead.data ? (
            dead.error ? <ErrorState error={dead.error} height={120} /> : <Loading height={120} />
          ) : dead.data.items.length === 0 ? (
            <Empty title="Nothing dead-lettered" height={120} />
          ) : (
            <ul className="list-plain">
              {dead.data.items.map((x, i) => (
                <li key={`${x.topic}-${x.partition}-${x.offset}-${i}`}>
                  <Time value={x.received_at} ms={false} />
                  <span className="badge badge-plain">{x.origin}</span>
                  <span className="truncate" title={x.reason}>
                    {x.reason}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </>
  );
}
