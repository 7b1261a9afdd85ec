"use client";
import { useEffect, useMemo, useState } from "react";
import { useUrlState } from "./url-state";

export const RANGE_PRESETS = [
  { key: "15m", label: "15 min", ms: 15 * 60_000 },
  { key: "1h", label: "1 h", ms: 3_600_000 },
  { key: "6h", label: "6 h", ms: 6 * 3_600_000 },
  { key: "24h", label: "24 h", ms: 24 * 3_600_000 },
  { key: "7d", label: "7 d", ms: 7 * 24 * 3_600_000 },
  { key: "30d", label: "30 d", ms: 30 * 24 * 3_600_000 },
  { key: "all", label: "All", ms: 0 },
] as const;

export interface ResolvedRange {
  from?: string;
  to?: string;
  /** The preset key, or "custom" when from/to are absolute. */
  key: string;
}

const minuteNow = () => Math.floor(Date.now() / 60_000) * 60_000;

/**
 * "Now" for a relative range, to the minute: taken again whenever `key` (the preset) changes,
 * and, when `moving`, every minute besides.
 */
function useRangeNow(key: string, moving: boolean): number {
  const [anchor, setAnchor] = useState(() => ({ key, at: minuteNow() }));
  // Derived from the previous render (React's pattern for it): a new preset starts from now.
  if (anchor.key !== key) setAnchor({ key, at: minuteNow() });
  useEffect(() => {
    if (!moving) return;
    const t = setInterval(() => setAnchor((a) => ({ key: a.key, at: minuteNow() })), 60_000);
    return () => clearInterval(t);
  }, [moving]);
  return anchor.at;
}

/**
 * The page's time range from the URL: absolute `from`/`to` (ISO) win, else the `range`
 * preset relative to now (open-ended, so live data keeps arriving), else `fallback`.
 * `moving`: the relative start moves once a minute (the overview's counts and chart); else it
 * stays where the preset was chosen, so a list's query key, and with it the pages loaded and
 * the scroll position, do not change under the analyst every minute (new rows still arrive:
 * the end is open). `all: false` for a page that has no "All" (the overview: its API reads a
 * bounded range).
 */
export function useTimeRange(fallback = "24h", { all = true, moving = false }: { all?: boolean; moving?: boolean } = {}): ResolvedRange {
  const { get } = useUrlState();
  const from = get("from");
  const to = get("to");
  const range = get("range") || fallback;
  const now = useRangeNow(range, moving);
  return useMemo(() => {
    if (from || to) return { from: from || undefined, to: to || undefined, key: "custom" };
    const preset = presetsOf(all).find((p) => p.key === range) ?? RANGE_PRESETS.find((p) => p.key === fallback)!;
    if (!preset.ms) return { key: preset.key };
    return { from: new Date(now - preset.ms).toISOString(), key: preset.key };
  }, [from, to, range, fallback, now, all]);
}

const presetsOf = (all: boolean) => (all ? RANGE_PRESETS : RANGE_PRESETS.filter((p) => p.key !== "all"));

/** ISO → value of <input type="datetime-local"> in UTC (the inputs are labelled UTC). */
function toInput(iso: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString().slice(0, 19);
}
function fromInput(v: string): string {
  if (!v) return "";
  const d = new Date(`${v}Z`);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

export function TimeRangePicker({ fallback = "24h", custom = true, all = true }: { fallback?: string; custom?: boolean; all?: boolean }) {
  const { get, set } = useUrlState();
  const presets = presetsOf(all);
  const named = get("range");
  const active = get("from") || get("to") ? "custom" : presets.some((p) => p.key === named) ? named : fallback;
  return (
    <div className="range-picker" role="group" aria-label="Time range">
      {presets.map((p) => (
        <button
          key={p.key}
          type="button"
          className={`btn btn-sm ${active === p.key ? "btn-active" : "btn-ghost"}`}
          aria-pressed={active === p.key}
          onClick={() => set({ range: p.key === fallback ? null : p.key, from: null, to: null })}
        >
          {p.label}
        </button>
      ))}
      {custom && (
        <>
          <label className="field-inline">
            <span>From (UTC)</span>
            <input type="datetime-local" step="1" value={toInput(get("from"))} onChange={(e) => set({ from: fromInput(e.target.value), range: null })} />
          </label>
          <label className="field-inline">
            <span>To (UTC)</span>
            <input type="datetime-local" step="1" value={toInput(get("to"))} onChange={(e) => set({ to: fromInput(e.target.value), range: null })} />
          </label>
        </>
      )}
    </div>
  );
}
