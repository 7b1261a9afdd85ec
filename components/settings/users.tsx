"use client";
/** Users: list, add, change role, disable/enable, delete. */
import { useState, type FormEvent } from "react";
import { api } from "@/components/data/api";
import { useInvalidate, useSettingsList } from "./hooks";
import { ErrorLine, errorText, Time } from "./shared";

interface User {
  id: string;
  email: string;
  role: string;
  disabled: boolean;
  created_at: string;
}

const ROLES = ["viewer", "analyst", "investigator", "admin"];

export function UsersSettings() {
  const list = useSettingsList<User>("users", "/users");
  const users = list.data?.items ?? null;
  const load = useInvalidate("users");
  const [error, setError] = useState<string | null>(null);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("viewer");
  const [password, setPassword] = useState("");


  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try {
      await fn();
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  function create(e: FormEvent) {
    e.preventDefault();
    void act(async () => {
      await api("/users", { method: "POST", body: { email, role, password } });
      setEmail("");
      setPassword("");
    });
  }

  return (
    <div className="stack">
      <form className="card row" onSubmit={create} aria-label="Add a user">
        <label className="field">
          Email
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />
        </label>
        <label className="field">
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label className="field">
          Initial password (8+ characters)
          <input type="password" required minLength={8} value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
        </label>
        <button className="btn btn-primary" type="submit">
          Add user
        </button>
      </form>
      <ErrorLine error={error ?? (list.error ? errorText(list.error) : null)} />
      <div className="card">
        <table className="simple">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Status</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users?.map((u) => (
              <tr key={u.id}>
                <td>{u.email}</td>
                <td>
                  <select aria-label={`Role of ${u.email}`} value={u.role} onChange={(e) => act(() => api(`/users/${u.id}`, { method: "PATCH", body: { role: e.target.value } }))}>
                    {ROLES.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                </td>
                <td>
                  <span className="badge badge-plain">{u.disabled ? "disabled" : "active"}</span>
                </td>
                <td>
                  <Time value={u.created_at} />
                </td>
                <td className="row">
                  <button className="btn btn-sm" onClick={() => act(() => api(`/users/${u.id}`, { method: "PATCH", body: { disabled: !u.disabled } }))}>
                    {u.disabled ? "Enable" : "Disable"}
                  </button>
                  <button className="btn btn-sm btn-warn" onClick={() => window.confirm(`Delete ${u.email}?`) && act(() => api(`/users/${u.id}`, { method: "DELETE" }))}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
