"use client";
/** Small pieces shared by the settings pages: tabs, error line, a secret shown once. */
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useCallback, useState } from "react";
import { ApiClientError } from "@/components/data/api";
import type { Role } from "@/components/data/types";
import { ROLES } from "@/components/data/users";

const TABS = [
  { href: "/settings/webhooks", label: "Webhooks" },
  { href: "/settings/keys", label: "API keys" },
  { href: "/settings/ssf", label: "Shared Signals" },
  { href: "/settings/users", label: "Users" },
  { href: "/settings/audit", label: "Audit log" },
];

export function SettingsTabs() {
  const pathname = usePathname() ?? "";
  return (
    <nav aria-label="Settings" className="row" style={{ marginBottom: 16 }}>
      {TABS.map((t) => (
        <Link key={t.href} href={t.href} className={`btn btn-sm${pathname === t.href ? " btn-active" : ""}`} aria-current={pathname === t.href ? "page" : undefined}>
          {t.label}
        </Link>
      ))}
    </nav>
  );
}

/** A settings table's height: its rows, up to `max` (then it scrolls); room for the empty state when there are none. */
export function tableHeight(rows: number, rowHeight: number, max = 560): number {
  return rows === 0 ? 80 : Math.min(max, rows * rowHeight + 8);
}

export function errorText(err: unknown): string {
  if (err instanceof ApiClientError) return err.message;
  return (err as Error)?.message ?? String(err);
}

/** Runs an action, keeping its failure as the error line's text (cleared by the next action). */
export function useAction() {
  const [error, setError] = useState<string | null>(null);
  const act = useCallback(async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    }
  }, []);
  return { error, act };
}

export function ErrorLine({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p role="alert" style={{ color: "var(--violation)", margin: "8px 0" }}>
      {error}
    </p>
  );
}

/** A secret shown exactly once, with a copy button. */
export function ShowOnce({ label, value, onDone }: { label: string; value: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="card" role="status" style={{ borderColor: "var(--blocked)" }}>
      <div className="card-head">
        <h2>{label}</h2>
      </div>
      <p className="muted">Copy it now: it is shown only this once and cannot be retrieved later.</p>
      <div className="row">
        <code style={{ wordBreak: "break-all", userSelect: "all" }} data-testid="secret-once">
          {value}
        </code>
        <button
          className="btn btn-sm"
          onClick={async () => {
            await navigator.clipboard?.writeText(value).catch(() => undefined);
            setCopied(true);
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
        <button className="btn btn-sm btn-primary" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

/** A role picker over the API's roles, lowest first. */
export function RoleSelect({ value, onChange, label, roles = ROLES }: { value: Role; onChange: (r: Role) => void; label?: string; roles?: readonly Role[] }) {
  return (
    <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value as Role)}>
      {roles.map((r) => (
        <option key={r}>{r}</option>
      ))}
    </select>
  );
}
