"use client";
/** Small pieces shared by the settings pages: tabs, error line, time cell. */
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useState } from "react";
import { ApiClientError } from "@/components/data/api";

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

export function errorText(err: unknown): string {
  if (err instanceof ApiClientError) return err.message;
  return (err as Error)?.message ?? String(err);
}

export function ErrorLine({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p role="alert" style={{ color: "var(--violation)", margin: "8px 0" }}>
      {error}
    </p>
  );
}

export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="faint">—</span>;
  return (
    <time className="ts" dateTime={value} title={value}>
      {value.replace("T", " ").replace(/\.\d+Z$/, "Z")}
    </time>
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
