import type { TimelineEvent } from "@/components/data/types";
import type { MarkKind } from "./marks";

export function markKind(e: Pick<TimelineEvent, "type" | "post_revocation" | "decision">): MarkKind {
  if (e.type && e.type !== "action") return "other";
  const flags = e.post_revocation ?? [];
  if (flags.some((f) => f.violation)) return "violation";
  if (flags.length > 0) return "blocked";
  return "normal";
}

export interface TimelinePoint {
  x: number;
  y: number;
  kind: MarkKind;
  event: TimelineEvent;
}

/** The drawn marks in time order (then lane order): the order the arrow keys follow. */
export function marksInTimeOrder(points: Record<MarkKind, TimelinePoint[]>): TimelinePoint[] {
  return [...points.violation, ...points.blocked, ...points.normal, ...points.other].sort((a, b) => a.x - b.x || a.y - b.y);
}

/** Where the arrow keys move the cursor from `index` (-1: none yet) among `count` marks; null for another key. */
export function nextMarkIndex(key: string, index: number, count: number): number | null {
  if (count === 0) return null;
  switch (key) {
    case "ArrowRight":
      return index < 0 ? 0 : Math.min(count - 1, index + 1);
    case "ArrowLeft":
      return index < 0 ? count - 1 : Math.max(0, index - 1);
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return null;
  }
}

/** Parses "fromMs-toMs" (the `zoom` URL parameter). */
export function parseZoom(v: string): [number, number] | null {
  const m = /^(\d+)-(\d+)$/.exec(v);
  if (!m) return null;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return b > a ? [a, b] : null;
}

export function formatZoom(z: [number, number] | null): string | null {
  return z ? `${Math.round(z[0])}-${Math.round(z[1])}` : null;
}

const STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500,
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000,
  60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
  86_400_000, 172_800_000, 604_800_000, 2_592_000_000,
];

/** Round-numbered time ticks (UTC-aligned) across a domain, at most `max` of them. */
export function timeTicks(domain: [number, number], max = 8): number[] {
  const span = domain[1] - domain[0];
  if (!(span > 0)) return [domain[0]];
  const step = STEPS.find((s) => span / s <= max) ?? Math.ceil(span / max);
  const out: number[] = [];
  for (let t = Math.ceil(domain[0] / step) * step; t <= domain[1]; t += step) out.push(t);
  return out;
}
