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
