"use client";
/**
 * Zooming the timeline: the +/−/reset buttons (the keyboard's way in), and dragging across
 * the chart, which maps pixels to times through the plot area's known geometry.
 */
import { useRef, useState, type MouseEvent, type RefObject } from "react";
import { useFormatTime } from "@/components/ui/time";

/** `domain` scaled by `factor` around its middle, clamped to `extent`; null when that is all of it. */
export function zoomedBy(domain: [number, number], extent: [number, number], factor: number): [number, number] | null {
  const mid = (domain[0] + domain[1]) / 2;
  const half = ((domain[1] - domain[0]) / 2) * factor;
  const next: [number, number] = [Math.max(extent[0], mid - half), Math.min(extent[1], mid + half)];
  return next[0] <= extent[0] && next[1] >= extent[1] ? null : next;
}

export function ZoomControls({ zoom, domain, extent, onZoom }: { zoom: [number, number] | null; domain: [number, number]; extent: [number, number]; onZoom: (z: [number, number] | null) => void }) {
  const fmt = useFormatTime();
  return (
    <div className="timeline-controls" role="group" aria-label="Zoom">
      <span className="faint ts" style={{ minWidth: 330, textAlign: "right" }}>
        {zoom ? `${fmt(zoom[0])} → ${fmt(zoom[1])}` : "whole range"}
      </span>
      <button type="button" className="btn btn-sm" onClick={() => onZoom(zoomedBy(domain, extent, 0.5))} aria-label="Zoom in">
        +
      </button>
      <button type="button" className="btn btn-sm" onClick={() => onZoom(zoomedBy(domain, extent, 2))} aria-label="Zoom out">
        −
      </button>
      <button type="button" className="btn btn-sm" onClick={() => onZoom(null)} disabled={!zoom}>
        Reset zoom
      </button>
    </div>
  );
}

/**
 * Drag-to-zoom over a plot area that starts `plotLeft` px into `wrapRef` and is `plotWidth`
 * wide. `moved` tells a mark's click handler that the press was a drag, not a click.
 */
export function useDragZoom({
  wrapRef,
  domain,
  plotLeft,
  plotWidth,
  onZoom,
}: {
  wrapRef: RefObject<HTMLDivElement | null>;
  domain: [number, number];
  plotLeft: number;
  plotWidth: number;
  onZoom: (z: [number, number]) => void;
}) {
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  const moved = useRef(false);
  const start = useRef<number | null>(null);
  const localX = (ev: MouseEvent) => ev.clientX - (wrapRef.current?.getBoundingClientRect().left ?? 0);
  const pxToTime = (px: number) => domain[0] + ((px - plotLeft) / plotWidth) * (domain[1] - domain[0]);

  const handlers = {
    onMouseDown: (ev: MouseEvent) => {
      const x = localX(ev);
      if (x < plotLeft || x > plotLeft + plotWidth) return;
      // No state change on press: re-rendering under the pointer would swallow a click on a mark.
      start.current = x;
      moved.current = false;
    },
    onMouseMove: (ev: MouseEvent) => {
      if (start.current === null) return;
      const x = Math.min(plotLeft + plotWidth, Math.max(plotLeft, localX(ev)));
      if (!moved.current && Math.abs(x - start.current) <= 4) return;
      moved.current = true;
      setDrag({ a: start.current, b: x });
    },
    onMouseUp: () => {
      if (drag && moved.current) {
        const t0 = pxToTime(Math.min(drag.a, drag.b));
        const t1 = pxToTime(Math.max(drag.a, drag.b));
        if (t1 - t0 > 5) onZoom([t0, t1]);
      }
      start.current = null;
      if (drag) setDrag(null);
      setTimeout(() => (moved.current = false), 0);
    },
    onMouseLeave: () => {
      start.current = null;
      if (drag) setDrag(null);
    },
  };
  return { drag, moved, handlers };
}

/** The band shown while dragging. */
export function DragBand({ drag, top, height }: { drag: { a: number; b: number } | null; top: number; height: number }) {
  if (!drag || Math.abs(drag.b - drag.a) <= 4) return null;
  return (
    <div
      aria-hidden="true"
      style={{
        position: "absolute",
        top,
        height,
        left: Math.min(drag.a, drag.b),
        width: Math.abs(drag.b - drag.a),
        background: "rgba(76,194,255,0.15)",
        border: "1px solid rgba(76,194,255,0.6)",
        pointerEvents: "none",
      }}
    />
  );
}
