"use client";
/**
 * The timeline's marks from the keyboard. The chart is one tab stop: Left and Right (Home,
 * End) move a cursor from mark to mark in time order across the lanes, Enter or Space opens
 * the event under it, and a line below the chart (a live region) says which event that is.
 * Without it, a pipeline's events (its page has no event table) opened with a pointer only.
 */
import { useMemo, useState, type KeyboardEvent } from "react";
import type { TimelineEvent } from "@/components/data/types";
import { useFormatTime } from "@/components/ui/time";
import type { MarkKind } from "./marks";
import { marksInTimeOrder, nextMarkIndex, type TimelinePoint } from "./model";

const KIND_TEXT: Record<MarkKind, string> = { violation: "▲ violation", blocked: "■ blocked attempt", normal: "● action", other: "◇ event" };

/**
 * The cursor over the drawn marks, kept by event id (a poll or a zoom redraws the marks; the
 * cursor stays on its event while that is drawn). `current` is the mark under it; `props` go
 * on the chart's focusable element. Its ring and line show only while the chart has the focus,
 * by CSS (app/globals.css): focus kept in state re-rendered the chart on the mouse-down of a
 * click, which replaced the mark under the pointer, and the click was lost.
 */
export function useMarkCursor(points: Record<MarkKind, TimelinePoint[]>, onSelect: (e: TimelineEvent) => void) {
  const ordered = useMemo(() => marksInTimeOrder(points), [points]);
  const [cursorId, setCursorId] = useState<string | null>(null);
  const index = cursorId ? ordered.findIndex((p) => p.event.event_id === cursorId) : -1;
  const current = index >= 0 ? ordered[index] : null;
  const onKeyDown = (e: KeyboardEvent) => {
    if ((e.key === "Enter" || e.key === " ") && index >= 0) {
      e.preventDefault();
      onSelect(ordered[index].event);
      return;
    }
    const next = nextMarkIndex(e.key, index, ordered.length);
    if (next === null) return;
    e.preventDefault(); // the arrows would scroll the page
    setCursorId(ordered[next].event.event_id);
  };
  return {
    current,
    props: {
      tabIndex: 0,
      role: "group",
      "aria-roledescription": "timeline",
      "aria-label": `Timeline of ${ordered.length} events. Left and Right arrows move between events, Enter opens one.`,
      onKeyDown,
    },
  };
}

/** The line below the chart that names the event under the cursor (read out as it moves). */
export function MarkCursorLine({ point }: { point: TimelinePoint | null }) {
  const fmt = useFormatTime();
  const e = point?.event;
  return (
    <div className="timeline-cursor faint" aria-live="polite" data-testid="timeline-cursor">
      {point && e
        ? `${KIND_TEXT[point.kind]} · ${fmt(e.time)} · ${[e.agent_id, e.layer, e.action, e.resource].filter(Boolean).join(" · ")} — Enter opens it`
        : ""}
    </div>
  );
}
