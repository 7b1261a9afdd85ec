"use client";
/**
 * Times are shown in UTC by default (what every log and every other SOC tool speaks);
 * the toggle switches the whole UI to the browser's local zone and is remembered.
 */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";

type Zone = "utc" | "local";
const ZoneContext = createContext<{ zone: Zone; toggle: () => void }>({ zone: "utc", toggle: () => {} });
const STORAGE_KEY = "revenant.tz";

export function TimeZoneProvider({ children }: { children: ReactNode }) {
  const [zone, setZone] = useState<Zone>("utc");
  useEffect(() => {
    if (localStorage.getItem(STORAGE_KEY) === "local") setZone("local");
  }, []);
  const toggle = useCallback(() => {
    setZone((z) => {
      const next = z === "utc" ? "local" : "utc";
      localStorage.setItem(STORAGE_KEY, next);
      return next;
    });
  }, []);
  return <ZoneContext.Provider value={{ zone, toggle }}>{children}</ZoneContext.Provider>;
}

export function useZone() {
  return useContext(ZoneContext);
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

function offsetLabel(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  return `${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

/** "2026-05-01 12:34:56.789Z" (UTC) or "2026-05-01 14:34:56.789+02:00" (local). */
export function formatTime(value: string | number | Date | null | undefined, zone: Zone, opts: { ms?: boolean; date?: boolean } = {}): string {
  if (value === null || value === undefined || value === "") return "—";
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const utc = zone === "utc";
  const y = utc ? d.getUTCFullYear() : d.getFullYear();
  const mo = (utc ? d.getUTCMonth() : d.getMonth()) + 1;
  const da = utc ? d.getUTCDate() : d.getDate();
  const h = utc ? d.getUTCHours() : d.getHours();
  const mi = utc ? d.getUTCMinutes() : d.getMinutes();
  const s = utc ? d.getUTCSeconds() : d.getSeconds();
  const ms = d.getUTCMilliseconds();
  const date = opts.date === false ? "" : `${y}-${pad(mo)}-${pad(da)} `;
  const frac = opts.ms === false ? "" : `.${pad(ms, 3)}`;
  return `${date}${pad(h)}:${pad(mi)}:${pad(s)}${frac}${utc ? "Z" : offsetLabel(d)}`;
}

export function useFormatTime() {
  const { zone } = useZone();
  return useCallback((v: string | number | Date | null | undefined, opts?: { ms?: boolean; date?: boolean }) => formatTime(v, zone, opts), [zone]);
}

export function Time({ value, ms = true, date = true }: { value: string | number | null | undefined; ms?: boolean; date?: boolean }) {
  const fmt = useFormatTime();
  if (value === null || value === undefined || value === "") return <span className="muted">—</span>;
  const iso = new Date(value).toISOString();
  return (
    <time className="ts" dateTime={iso} title={iso}>
      {fmt(value, { ms, date })}
    </time>
  );
}

export function ZoneToggle() {
  const { zone, toggle } = useZone();
  return (
    <button type="button" className="btn btn-ghost btn-sm" onClick={toggle} aria-label={`Times shown in ${zone === "utc" ? "UTC" : "local time"}; switch`} title="Switch between UTC and local time">
      {zone === "utc" ? "UTC" : "Local"}
    </button>
  );
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const a = Math.abs(ms);
  if (a < 1000) return `${Math.round(ms)} ms`;
  if (a < 60_000) return `${(ms / 1000).toFixed(a < 10_000 ? 2 : 1)} s`;
  if (a < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
