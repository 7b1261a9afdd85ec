"use client";
/**
 * The layered timeline: time across, one lane per layer (or per agent on a pipeline),
 * every event a mark (shape says violation / blocked / action), revocations and
 * reinstatements as vertical lines with the revocation window shaded. Zoom by dragging
 * across the chart or by brushing the density strip below it; hover for details; click
 * a mark for the full event. From the keyboard, zoom buttons zoom, and the arrow keys move
 * from mark to mark (components/timeline/keyboard.tsx).
 * An agent's OpenTelemetry context (spans that are not tool calls) gets a lane of its own
 * below the layers, drawn apart from the events and never counted as one.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { CartesianGrid, ReferenceArea, ReferenceLine, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from "recharts";
import type { TimelineContextSpan, TimelineEvent, TimelineRevocation } from "@/components/data/types";
import { useFormatTime } from "@/components/ui/time";
import { DensityBrush } from "./density";
import { MarkCursorLine, useMarkCursor } from "./keyboard";
import { ContextMarkShape, MarkShape, TimelineLegend, type MarkKind } from "./marks";
import { timeTicks, type TimelinePoint } from "./model";
import { timelineExtent, visibleContext, visibleMarks, type ContextPoint } from "./thinning";
import { TooltipBody } from "./tooltip";
import { DragBand, useDragZoom, ZoomControls } from "./zoom";

const MARGIN = { top: 26, right: 24, bottom: 4, left: 8 };
const Y_AXIS_WIDTH = 190;
const LANE_HEIGHT = 44;
/** The context lane's label (the y axis shows it like a layer's). */
export const CONTEXT_LANE = "OpenTelemetry context";

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
  /** OpenTelemetry context spans (agent timelines): a lane of their own, below the layers. */
  context?: TimelineContextSpan[];
  testId?: string;
}

export function Timeline({ events, lanes: eventLanes, laneOf, laneLabel, revocations, zoom, onZoom, selectedId, onSelect, focusTime, range, context, testId }: TimelineProps) {
  const fmt = useFormatTime();
  const [wrapRef, width] = useWidth<HTMLDivElement>();
  const laneIndex = useMemo(() => new Map(eventLanes.map((l, i) => [l, i])), [eventLanes]);
  const hasContext = !!context?.length;
  const lanes = useMemo(() => (hasContext ? [...eventLanes, CONTEXT_LANE] : eventLanes), [eventLanes, hasContext]);

  // Full extent of what is loaded, including revocation lines, so the brush can zoom back out.
  const from = range?.from;
  const to = range?.to;
  const extent = useMemo(() => timelineExtent(events, revocations, { from, to }, Date.now(), context), [events, revocations, from, to, context]);
  const domain: [number, number] = zoom ?? extent;
  const points = useMemo(() => visibleMarks(events, domain, laneIndex, laneOf), [events, domain, laneIndex, laneOf]);
  const contextPoints = useMemo(() => (context?.length ? visibleContext(context, domain, eventLanes.length) : []), [context, domain, eventLanes.length]);

  const cursor = useMarkCursor(points, onSelect);

  const plotLeft = MARGIN.left + Y_AXIS_WIDTH;
  const plotWidth = Math.max(1, width - plotLeft - MARGIN.right);
  const { drag, moved: dragMoved, handlers } = useDragZoom({ wrapRef, domain, plotLeft, plotWidth, onZoom });

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
          cursor={!!cursor.current && ev?.event_id === cursor.current.event.event_id}
          onClick={ev ? () => !dragMoved.current && onSelect(ev) : undefined}
        />
      );
    };


  return (
    <div className="timeline" data-testid={testId}>
      <div className="row" style={{ justifyContent: "space-between", marginBottom: 6 }}>
        <TimelineLegend context={hasContext} />
        <ZoomControls zoom={zoom} domain={domain} extent={extent} onZoom={onZoom} />
      </div>
      <div
        ref={wrapRef}
        className="timeline-chart"
        style={{ position: "relative", height: chartHeight, cursor: "crosshair" }}
        {...handlers}
        {...cursor.props}
      >
        {width > 0 && (
          // Recharts' own keyboard layer is off: the chart's keys are the mark cursor's (one tab stop, marks in time order).
          <ScatterChart width={width} height={chartHeight} margin={MARGIN} accessibilityLayer={false}>
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
                const l = hasContext && i === eventLanes.length ? CONTEXT_LANE : laneLabel ? laneLabel(lanes[i] ?? "") : (lanes[i] ?? "");
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
            {hasContext && (
              <Scatter name="context" data={contextPoints} shape={ContextShape} isAnimationActive={false} />
            )}
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
        <DragBand drag={drag} top={MARGIN.top} height={chartHeight - MARGIN.top - MARGIN.bottom - 30} />
      </div>
      <MarkCursorLine point={cursor.current} />
      {width > 0 && <DensityBrush events={events} extent={extent} zoom={zoom} onZoom={onZoom} width={width} left={plotLeft} right={MARGIN.right} />}
    </div>
  );
}

/** A context mark; it links to the kept original export (OTLP/JSON) when there is one. */
function ContextShape(props: unknown) {
  const p = props as { cx?: number; cy?: number; payload?: ContextPoint };
  if (p.cx === undefined || p.cy === undefined || !p.payload) return <g />;
  const c = p.payload.context;
  return <ContextMarkShape cx={p.cx} cy={p.cy} role={c.role} href={c.export_id ? `/api/v1/otlp-exports?id=${encodeURIComponent(c.export_id)}` : undefined} />;
}
