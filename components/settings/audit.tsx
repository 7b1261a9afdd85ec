"use client";
/** The audit log, newest first, filterable by action and actor, paged with the API's cursor. */
import { useCallback, useEffect, useState } from "react";
import { api } from "@/components/data/api";
import { ErrorLine, errorText, Time } from "./shared";

interface Entry {
  at: string;
  id: string;
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
  ip: string;
}

export function AuditLog() {
  const [items, setItems] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = useCallback(
    async (from: string | null) => {
      setLoading(true);
      setError(null);
      try {
        const page = await api<{ items: Entry[]; next_cursor: string | null }>("/audit", { params: { limit: 100, cursor: from, action, actor } });
        setItems((prev) => (from ? [...prev, ...page.items] : page.items));
        setCursor(page.next_cursor);
      } catch (err) {
        setError(errorText(err));
      } finally {
        setLoading(false);
      }
    },
    [action, actor],
  );
  useEffect(() => {
    void load(null);
  }, [load]);

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
        {cursor && (
          <button className="btn btn-sm" disabled={loading} onClick={() => load(cursor)}>
            Older
          </button>
        )}
      </div>
    </div>
  );
}
