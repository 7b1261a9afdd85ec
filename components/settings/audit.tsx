"use client";
/** The audit log, newest first, filterable by action and actor, paged with the API's cursor. */
import { useState } from "react";
import type { AuditEntry as Entry } from "@/lib/auth/audit";
import { useSettingsPages } from "./hooks";
import { ErrorLine, errorText, Time } from "./shared";


export function AuditLog() {
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const pages = useSettingsPages<Entry>("audit", "/audit", { limit: 100, action, actor });
  const items = pages.data?.pages.flatMap((p) => p.items) ?? [];
  const loading = pages.isFetching;
  const error = pages.error ? errorText(pages.error) : null;

  return (
    <div className="stack">
      <div className="card row" role="search">
        <label className="field">
          Action
          <input value={action} onChange={(e) => setAction(e.target.value)} placeholder="auth.login" />
        </label>
        <label className="field">
          Actor
          <input value={actor} onChange={(e) => setActor(e.target.value)} placeholder="email or key id" />
        </label>
      </div>
      <ErrorLine error={error} />
      <div className="card">
        <table className="simple">
          <thead>
            <tr>
              <th>Time</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Target</th>
              <th>Details</th>
              <th>Address</th>
            </tr>
          </thead>
          <tbody>
            {items.length === 0 && !loading && (
              <tr>
                <td colSpan={6} className="muted">
                  Nothing recorded.
                </td>
              </tr>
            )}
            {items.map((e) => (
              <tr key={e.id}>
                <td>
                  <Time value={e.at} />
                </td>
                <td>
                  {e.actor_name || <span className="faint">anonymous</span>}
                  <div className="muted">{e.actor_kind}</div>
                </td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td className="mono">{e.target}</td>
                <td>
                  <code className="muted">{Object.keys(e.details).length ? JSON.stringify(e.details) : ""}</code>
                </td>
                <td className="mono">{e.ip}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {pages.hasNextPage && (
          <button className="btn btn-sm" disabled={loading} onClick={() => void pages.fetchNextPage()}>
            Older
          </button>
        )}
      </div>
    </div>
  );
}
