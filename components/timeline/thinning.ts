/**
 * What the timeline draws: the loaded extent (so zooming out can reach everything), and
 * the marks inside the visible domain, thinned so SVG stays responsive. Pure functions.
 */
import type { TimelineContextSpan, TimelineEvent, TimelineRevocation } from "@/components/data/types";
import type { MarkKind } from "./marks";
import { markKind, type TimelinePoint } from "./model";

/** More marks than this turn SVG sluggish; plain actions are thinned, flagged ones always kept. */
export const MAX_PLAIN_MARKS = 4000;

/**
 * The full extent of what is loaded, revocation and reinstatement lines included, padded a
 * little; the queried range when it is bounded; the last hour when nothing is loaded.
 */
export function timelineExtent(
  events: TimelineEvent[],
  revocations: TimelineRevocation[],
  range: { from?: string; to?: string } | undefined,
  now: number,
  context: TimelineContextSpan[] = [],
): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of events) {
    const t = Date.parse(e.time);
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  for (const c of context) {
    const t = Date.parse(c.start_time);
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
  if (!Number.isFinite(lo)) return [now - 3_600_000, now];
  const pad = Math.max((hi - lo) * 0.03, 1000);
  return [range?.from ? Date.parse(range.from) : lo - pad, range?.to ? Date.parse(range.to) : hi + pad];
}

/** The marks inside `domain`, by kind, one lane row each; plain actions evenly thinned to MAX_PLAIN_MARKS. */
export function visibleMarks(events: TimelineEvent[], domain: [number, number], laneIndex: Map<string, number>, laneOf: (e: TimelineEvent) => string): Record<MarkKind, TimelinePoint[]> {
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
}

/** A context span's mark: in the context lane (row `y`), apart from the event marks. */
export interface ContextPoint {
  x: number;
  y: number;
  context: TimelineContextSpan;
}

/** More context marks than this are evenly thinned (they are background, not evidence). */
export const MAX_CONTEXT_MARKS = 2000;

/** The context spans inside `domain`, as marks on row `y`. */
export function visibleContext(context: TimelineContextSpan[], domain: [number, number], y: number): ContextPoint[] {
  const points: ContextPoint[] = [];
  for (const c of context) {
    const t = Date.parse(c.start_time);
    if (t >= domain[0] && t <= domain[1]) points.push({ x: t, y, context: c });
  }
  if (points.length <= MAX_CONTEXT_MARKS) return points;
  const step = points.length / MAX_CONTEXT_MARKS;
  return Array.from({ length: MAX_CONTEXT_MARKS }, (_, i) => points[Math.floor(i * step)]);
}
