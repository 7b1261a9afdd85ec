"use client";
/**
 * The density strip under the timeline: event counts per bucket over the whole loaded
 * extent (flagged ones in red), with a brush that zooms the chart above. Brushing is
 * committed after a short pause, so dragging a handle does not re-query on every pixel.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Bar, BarChart, Brush, YAxis } from "recharts";
import type { TimelineEvent } from "@/components/data/types";
import { useFormatTime } from "@/components/ui/time";
import { markKind } from "./model";

export const BUCKETS = 120;

export interface DensityBucket {
  t: number;
  actions: number;
  flagged: number;
}

/** Counts per bucket of `extent`: violations and blocked attempts as `flagged`, the rest as `actions`. */
export function densityBuckets(events: TimelineEvent[], extent: [number, number], buckets = BUCKETS): DensityBucket[] {
  const size = (extent[1] - extent[0]) / buckets;
  const out = Array.from({ length: buckets }, (_, i) => ({ t: extent[0] + i * size, actions: 0, flagged: 0 }));
  for (const e of events) {
    const i = Math.min(buckets - 1, Math.max(0, Math.floor((Date.parse(e.time) - extent[0]) / size)));
    const k = markKind(e);
    if (k === "violation" || k === "blocked") out[i].flagged++;
    else out[i].actions++;
  }
  return out;
}

export function DensityBrush({
  events,
  extent,
  zoom,
  onZoom,
  width,
  left,
  right,
}: {
  events: TimelineEvent[];
  extent: [number, number];
  zoom: [number, number] | null;
  onZoom: (z: [number, number] | null) => void;
  width: number;
  /** Left and right margins, so the strip lines up with the chart's plot area. */
  left: number;
  right: number;
}) {
  const fmt = useFormatTime();
  const buckets = useMemo(() => densityBuckets(events, extent), [events, extent]);
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

  return (
    <div aria-label="Brush to zoom" className="timeline-brush">
      <BarChart width={width} height={50} data={buckets} margin={{ top: 0, right, bottom: 0, left }}>
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
  );
}
