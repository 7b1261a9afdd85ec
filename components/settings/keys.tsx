"use client";
/** API keys: list, create (the key is shown once), revoke. */
import { useState, type FormEvent } from "react";
import { api } from "@/components/data/api";
import { useInvalidate, useSettingsList } from "./hooks";
import { ErrorLine, errorText, ShowOnce, Time } from "./shared";

interface ApiKey {
  id: string;
  name: string;
  role: string;
  prefix: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

const ROLES = ["viewer", "analyst", "investigator", "admin"];

export function KeysSettings() {
  const list = useSettingsList<ApiKey>("keys", "/keys");
  const keys = list.data?.items ?? null;
  const load = useInvalidate("keys");
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [role, setRole] = useState("viewer");
  const [fresh, setFresh] = useState<string | null>(null);


  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const k = await api<ApiKey & { key: string }>("/keys", { method: "POST", body: { name, role } });
      setFresh(k.key);
      setName("");
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function revoke(k: ApiKey) {
    if (!window.confirm(`Revoke "${k.name}"? Clients using it stop working at once.`)) return;
    try {
      await api(`/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <div className="stack">
      {fresh && <ShowOnce label="New API key" value={fresh} onDone={() => setFresh(null)} />}
      <form className="card row" onSubmit={create} aria-label="Create an API key">
        <label className="field">
          Name
          <input required maxLength={128} value={name} onChange={(e) => setName(e.target.value)} placeholder="ci-pipeline" />
        </label>
        <label className="field">
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" type="submit">
          Create key
        </button>
      </form>
      <ErrorLine error={error ?? (list.error ? errorText(list.error) : null)} />
      <div className="card">
        <table className="simple">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Role</th>
              <th>Created</th>
              <th>By</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys?.length === 0 && (
              <tr>
                <td colSpan={7} className="muted">
                  No API keys yet.
                </td>
              </tr>
            )}
            {keys?.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.role}</td>
                <td>
                  <Time value={k.created_at} />
                </td>
                <td>{k.created_by}</td>
                <td>{k.revoked_at ? <span className="badge badge-plain">revoked</span> : <span className="badge badge-plain">active</span>}</td>
                <td>
                  {!k.revoked_at && (
                    <button className="btn btn-sm btn-warn" onClick={() => revoke(k)}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
