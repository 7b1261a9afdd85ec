"use client";
/**
 * The layered timeline: time across, one lane per layer (or per agent on a pipeline),
 * every event a mark (shape says violation / blocked / action), revocations and
 * reinstatements as vertical lines with the revocation window shaded. Zoom by dragging
 * across the chart or by brushing the density strip below it; hover for details; click
 * a mark for the full event. Zoom buttons make all of it reachable from the keyboard.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Bar,
  BarChart,
  Brush,
  CartesianGrid,
  ReferenceArea,
  ReferenceLine,
  Scatter,
  ScatterChart,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import type { TimelineEvent, TimelineRevocation } from "@/components/data/types";
import { useFormatTime } from "@/components/ui/time";
import { MarkShape, TimelineLegend, type MarkKind } from "./marks";
import { markKind, timeTicks, type TimelinePoint } from "./model";

const MARGIN = { top: 26, right: 24, bottom: 4, left: 8 };
const Y_AXIS_WIDTH = 190;
const LANE_HEIGHT = 44;
const BUCKETS = 120;
/** More marks than this turn SVG sluggish; plain actions are thinned, flagged ones always kept. */
const MAX_PLAIN_MARKS = 4000;

function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [w, setW] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(([entry]) => setW(Math.floor(entry.contentRect.width)));
    ro.observe(el);
    setW(Math.floor(el.getBoundingClientRect().width));
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

function TooltipBody({ active, payload }: { active?: boolean; payload?: readonly { payload?: unknown }[] }) {
  const fmt = useFormatTime();
  const p = payload?.[0]?.payload as TimelinePoint | undefined;
  if (!active || !p?.event) return null;
  const e = p.event;
  const flags = e.post_revocation ?? [];
  return (
    <div className="timeline-tooltip">
      <div className="row" style={{ gap: 8 }}>
        <MarkKindLabel kind={p.kind} />
        <span className="ts">{fmt(e.time)}</span>
      </div>
      <dl>
        <dt>type</dt>
        <dd>{e.type}</dd>
        {e.layer && (
          <>
            <dt>layer</dt>
            <dd>{e.layer}</dd>
          </>
        )}
        <dt>agent</dt>
        <dd>{e.agent_id || "—"}</dd>
        {e.action && (
          <>
            <dt>action</dt>
            <dd>{e.action}</dd>
          </>
        )}
        {e.resource && (
          <>
            <dt>resource</dt>
            <dd>{e.resource}</dd>
          </>
        )}
        {e.decision && (
          <>
            <dt>decision</dt>
            <dd>{e.decision}</dd>
          </>
        )}
        {e.credential_id && (
          <>
            <dt>credential</dt>
            <dd>{e.credential_id}</dd>
          </>
        )}
        {flags.length > 0 && (
          <>
            <dt>after revocation</dt>
            <dd>{flags.map((f) => `${f.revocation_id} (${f.via})`).join(", ")}</dd>
          </>
        )}
      </dl>
      <div className="faint" style={{ marginTop: 6 }}>
        click for the full event
      </div>
    </div>
  );
}

function MarkKindLabel({ kind }: { kind: MarkKind }) {
  const text = { violation: "▲ violation", blocked: "■ blocked attempt", normal: "● action", other: "◇ event" }[kind];
  return <strong style={{ color: kind === "violation" ? "var(--violation)" : kind === "blocked" ? "var(--blocked)" : "var(--text)" }}>{text}</strong>;
}

export interface TimelineProps {
  events: TimelineEvent[];
  lanes: string[];
  laneOf: (e: TimelineEvent) => string;
  laneLabel?: (lane: string) => string;
  revocations: TimelineRevocation[];
  zoom: [number, number] | null;
  onZoom: (z: [number, number] | null) => void;
  selectedId?: string | null;
  onSelect: (e: TimelineEvent) => void;
  /** A moment to mark (e.g. an alert's first violation). */
  focusTime?: number | null;
  /** The queried range, when it is bounded: the unzoomed chart spans it exactly. */
  range?: { from?: string; to?: string };
  testId?: string;
}

export function Timeline({ events, lanes, laneOf, laneLabel, revocations, zoom, onZoom, selectedId, onSelect, focusTime, range, testId }: TimelineProps) {
  const fmt = useFormatTime();
  const [wrapRef, width] = useWidth<HTMLDivElement>();
  const laneIndex = useMemo(() => new Map(lanes.map((l, i) => [l, i])), [lanes]);

  // Full extent of what is loaded, including revocation lines, so the brush can zoom back out.
  const extent = useMemo<[number, number]>(() => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const e of events) {
      const t = Date.parse(e.time);
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    for (const r of revocations) {
      const t = Date.parse(r.time);
      if (t < lo) lo = t;
      if (t > hi) hi = t;
      if (r.reinstated_at) hi = Math.max(hi, Date.parse(r.reinstated_at));
    }
    if (range?.from && range?.to) return [Date.parse(range.from), Date.parse(range.to)];
    if (!Number.isFinite(lo)) {
      const now = Date.now();
      return [now - 3_600_000, now];
    }
    const pad = Math.max((hi - lo) * 0.03, 1000);
    return [range?.from ? Date.parse(range.from) : lo - pad, range?.to ? Date.parse(range.to) : hi + pad];
  }, [events, revocations, range?.from, range?.to]);
  const domain: [number, number] = zoom ?? extent;

  const points = useMemo(() => {
    const byKind: Record<MarkKind, TimelinePoint[]> = { violation: [], blocked: [], normal: [], other: [] };
    for (const e of events) {
      const t = Date.parse(e.time);
      if (t < domain[0] || t > domain[1]) continue;
      const y = laneIndex.get(laneOf(e));
      if (y === undefined) continue;
      const kind = markKind(e);
      byKind[kind].push({ x: t, y, kind, event: e });
    }
    if (byKind.normal.length > MAX_PLAIN_MARKS) {
      const step = byKind.normal.length / MAX_PLAIN_MARKS;
      byKind.normal = Array.from({ length: MAX_PLAIN_MARKS }, (_, i) => byKind.normal[Math.floor(i * step)]);
    }
    return byKind;
  }, [events, domain, laneIndex, laneOf]);

  // Density strip for the brush: counts per bucket over the whole loaded extent.
  const buckets = useMemo(() => {
    const size = (extent[1] - extent[0]) / BUCKETS;
    const out = Array.from({ length: BUCKETS }, (_, i) => ({ t: extent[0] + i * size, actions: 0, flagged: 0 }));
    for (const e of events) {
      const i = Math.min(BUCKETS - 1, Math.max(0, Math.floor((Date.parse(e.time) - extent[0]) / size)));
      const k = markKind(e);
      if (k === "violation" || k === "blocked") out[i].flagged++;
      else out[i].actions++;
    }
    return out;
  }, [events, extent]);

  const bucketIndex = useCallback(
    (t: number) => Math.min(BUCKETS - 1, Math.max(0, Math.floor(((t - extent[0]) / (extent[1] - extent[0])) * BUCKETS))),
    [extent],
  );
  const [brush, setBrush] = useState<{ startIndex: number; endIndex: number }>({ startIndex: 0, endIndex: BUCKETS - 1 });
  useEffect(() => {
    setBrush(zoom ? { startIndex: bucketIndex(zoom[0]), endIndex: bucketIndex(zoom[1]) } : { startIndex: 0, endIndex: BUCKETS - 1 });
  }, [zoom, bucketIndex]);
  const brushCommit = useRef<ReturnType<typeof setTimeout> | null>(null);
  const onBrushChange = (r: { startIndex?: number; endIndex?: number }) => {
    const s = r.startIndex ?? 0;
    const e = r.endIndex ?? BUCKETS - 1;
    setBrush({ startIndex: s, endIndex: e });
    if (brushCommit.current) clearTimeout(brushCommit.current);
    brushCommit.current = setTimeout(() => {
      if (s <= 0 && e >= BUCKETS - 1) onZoom(null);
      else {
        const size = (extent[1] - extent[0]) / BUCKETS;
        onZoom([extent[0] + s * size, extent[0] + (e + 1) * size]);
      }
    }, 250);
  };

  // Drag across the main chart to zoom: pixel → time through the plot area's known geometry.
  const plotLeft = MARGIN.left + Y_AXIS_WIDTH;
  const plotWidth = Math.max(1, width - plotLeft - MARGIN.right);
  const pxToTime = (px: number) => domain[0] + ((px - plotLeft) / plotWidth) * (domain[1] - domain[0]);
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  const dragMoved = useRef(false);
  const dragStart = useRef<number | null>(null);
  const localX = (ev: React.MouseEvent) => ev.clientX - (wrapRef.current?.getBoundingClientRect().left ?? 0);

  const zoomBy = (factor: number) => {
    const mid = (domain[0] + domain[1]) / 2;
    const half = ((domain[1] - domain[0]) / 2) * factor;
    const next: [number, number] = [Math.max(extent[0], mid - half), Math.min(extent[1], mid + half)];
    onZoom(next[0] <= extent[0] && next[1] >= extent[1] ? null : next);
  };

  const chartHeight = MARGIN.top + MARGIN.bottom + 30 + Math.max(1, lanes.length) * LANE_HEIGHT;
  const selectedTime = useMemo(() => {
    const e = selectedId ? events.find((x) => x.event_id === selectedId) : undefined;
    return e ? Date.parse(e.time) : null;
  }, [selectedId, events]);
  const span = domain[1] - domain[0];
  const tickFmt = (v: number) => fmt(v, { ms: span < 10_000, date: span > 2 * 86_400_000 });

  const renderShape = (kind: MarkKind) =>
    function Shape(props: unknown) {
      const p = props as { cx?: number; cy?: number; payload?: TimelinePoint };
      if (p.cx === undefined || p.cy === undefined) return <g />;
      const ev = p.payload?.event;
      return (
        <MarkShape
          kind={kind}
          cx={p.cx}
          cy={p.cy}
          selected={!!selectedId && ev?.event_id === selectedId}
          onClick={ev ? () => !dragMoved.current && onSelect(ev) : undefined}
        />
      );
    };


  return (
    <div className="timeline" data-testid={testId}>
      <div className="row" style={{ justifyContent: "space-between", marginBottom: 6 }}>
        <TimelineLegend />
        <div className="timeline-controls" role="group" aria-label="Zoom">
          <span className="faint ts" style={{ minWidth: 330, textAlign: "right" }}>
            {zoom ? `${fmt(zoom[0])} → ${fmt(zoom[1])}` : "whole range"}
          </span>
          <button type="button" className="btn btn-sm" onClick={() => zoomBy(0.5)} aria-label="Zoom in">
            +
          </button>
          <button type="button" className="btn btn-sm" onClick={() => zoomBy(2)} aria-label="Zoom out">
            −
          </button>
          <button type="button" className="btn btn-sm" onClick={() => onZoom(null)} disabled={!zoom}>
            Reset zoom
          </button>
        </div>
      </div>
      <div
        ref={wrapRef}
        style={{ position: "relative", height: chartHeight, cursor: "crosshair" }}
        onMouseDown={(ev) => {
          const x = localX(ev);
          if (x < plotLeft || x > plotLeft + plotWidth) return;
          // No state change on press: re-rendering under the pointer would swallow a click on a mark.
          dragStart.current = x;
          dragMoved.current = false;
        }}
        onMouseMove={(ev) => {
          if (dragStart.current === null) return;
          const x = Math.min(plotLeft + plotWidth, Math.max(plotLeft, localX(ev)));
          if (!dragMoved.current && Math.abs(x - dragStart.current) <= 4) return;
          dragMoved.current = true;
          setDrag({ a: dragStart.current, b: x });
        }}
        onMouseUp={() => {
          if (drag && dragMoved.current) {
            const t0 = pxToTime(Math.min(drag.a, drag.b));
            const t1 = pxToTime(Math.max(drag.a, drag.b));
            if (t1 - t0 > 5) onZoom([t0, t1]);
          }
          dragStart.current = null;
          if (drag) setDrag(null);
          setTimeout(() => (dragMoved.current = false), 0);
        }}
        onMouseLeave={() => {
          dragStart.current = null;
          if (drag) setDrag(null);
        }}
      >
        {width > 0 && (
          <ScatterChart width={width} height={chartHeight} margin={MARGIN}>
            <CartesianGrid stroke="#1f2a36" horizontal vertical={false} />
            <XAxis
              type="number"
              dataKey="x"
              domain={domain}
              allowDataOverflow
              scale="time"
              tickFormatter={tickFmt}
              ticks={timeTicks(domain, Math.max(3, Math.floor(plotWidth / 130)))}
              interval={0}
              stroke="#4a5b6e"
              tick={{ fill: "#9aa8b7", fontSize: 11, fontFamily: "var(--mono)" }}
              orientation="bottom"
            />
            <YAxis
              type="number"
              dataKey="y"
              domain={[-0.5, Math.max(0, lanes.length - 1) + 0.5]}
              ticks={lanes.map((_, i) => i)}
              interval={0}
              reversed
              width={Y_AXIS_WIDTH}
              tickFormatter={(i: number) => {
                const l = laneLabel ? laneLabel(lanes[i] ?? "") : (lanes[i] ?? "");
                return l.length > 28 ? `…${l.slice(-27)}` : l;
              }}
              stroke="#4a5b6e"
              tick={{ fill: "#c9d3dd", fontSize: 12 }}
            />
            {revocations.map((r) => {
              const t = Date.parse(r.time);
              const end = r.reinstated_at ? Date.parse(r.reinstated_at) : domain[1];
              return <ReferenceArea key={`area-${r.event_id}`} x1={Math.max(t, domain[0])} x2={Math.min(end, domain[1])} fill="var(--violation)" fillOpacity={0.06} ifOverflow="hidden" />;
            })}
            {revocations.map((r) => (
              <ReferenceLine
                key={`rev-${r.event_id}`}
                x={Date.parse(r.time)}
                stroke="var(--revocation)"
                strokeWidth={2}
                strokeDasharray="5 3"
                ifOverflow="hidden"
                label={{ value: `revoked ${r.scope}`, position: "insideTopLeft", fill: "#ff8a96", fontSize: 11, offset: 4 }}
              />
            ))}
            {revocations
              .filter((r) => r.reinstated_at)
              .map((r) => (
                <ReferenceLine
                  key={`rein-${r.event_id}`}
                  x={Date.parse(r.reinstated_at!)}
                  stroke="var(--reinstatement)"
                  strokeWidth={2}
                  strokeDasharray="1 3"
                  ifOverflow="hidden"
                  label={{ value: "reinstated", position: "insideTopRight", fill: "#7ee8bb", fontSize: 11 }}
                />
              ))}
            {focusTime ? <ReferenceLine x={focusTime} stroke="var(--focus)" strokeOpacity={0.6} ifOverflow="hidden" /> : null}
            {selectedTime ? <ReferenceLine x={selectedTime} stroke="var(--accent)" strokeOpacity={0.7} ifOverflow="hidden" /> : null}
            <Tooltip content={(p) => <TooltipBody active={p.active} payload={p.payload as readonly { payload?: unknown }[]} />} cursor={false} isAnimationActive={false} />
            {(["normal", "other", "blocked", "violation"] as MarkKind[]).map((kind) => (
              <Scatter
                key={kind}
                name={kind}
                data={points[kind]}
                shape={renderShape(kind)}
                isAnimationActive={false}
                style={{ cursor: "pointer" }}
              />
            ))}
          </ScatterChart>
        )}
        {drag && Math.abs(drag.b - drag.a) > 4 && (
          <div
            aria-hidden="true"
            style={{
              position: "absolute",
              top: MARGIN.top,
              height: chartHeight - MARGIN.top - MARGIN.bottom - 30,
              left: Math.min(drag.a, drag.b),
              width: Math.abs(drag.b - drag.a),
              background: "rgba(76,194,255,0.15)",
              border: "1px solid rgba(76,194,255,0.6)",
              pointerEvents: "none",
            }}
          />
        )}
      </div>
      {width > 0 && (
        <div aria-label="Brush to zoom" className="timeline-brush">
          <BarChart width={width} height={50} data={buckets} margin={{ top: 0, right: MARGIN.right, bottom: 0, left: plotLeft }}>
            <Brush
              dataKey="t"
              height={46}
              stroke="#4cc2ff"
              fill="#0d141c"
              travellerWidth={10}
              startIndex={brush.startIndex}
              endIndex={brush.endIndex}
              onChange={onBrushChange}
              tickFormatter={(v: number) => fmt(v, { ms: false, date: false })}
            >
              <BarChart data={buckets} barCategoryGap={0}>
                <YAxis hide domain={[0, "dataMax"]} />
                <Bar dataKey="actions" stackId="a" fill="#3b4b5e" isAnimationActive={false} />
                <Bar dataKey="flagged" stackId="a" fill="#ff4d5e" isAnimationActive={false} />
              </BarChart>
            </Brush>
          </BarChart>
        </div>
      )}
    </div>
  );
}
