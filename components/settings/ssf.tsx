"use client";
/** SSF streams: list with status, add (push token shown once), remove. README.md, "Shared Signals". */
import { useState, type FormEvent } from "react";
import { api } from "@/components/data/api";
import { useInvalidate, useSettingsList } from "./hooks";
import { ErrorLine, errorText, ShowOnce, Time } from "./shared";

interface Stream {
  id: string;
  name: string;
  issuer: string;
  audience: string;
  delivery: "push" | "poll";
  poll_url: string;
  enabled: boolean;
  push_path: string | null;
  status: { sets_accepted: number; last_event_at: string | null; last_verified_at: string | null; last_error: string | null; last_error_at: string | null };
}

const EMPTY = { name: "", issuer: "", audience: "", delivery: "push" as "push" | "poll", poll_url: "", poll_token: "", rules: "" };

export function SsfSettings() {
  const list = useSettingsList<Stream>("ssf", "/ssf/streams", undefined, 15_000);
  const streams = list.data?.items ?? null;
  const load = useInvalidate("ssf");
  const [form, setForm] = useState(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const [fresh, setFresh] = useState<string | null>(null);
  const set = (k: keyof typeof EMPTY) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    let subject_rules: unknown[] = [];
    try {
      subject_rules = form.rules.trim() ? JSON.parse(form.rules) : [];
    } catch {
      setError("Subject rules must be a JSON array (see README.md, \"Subject rules\").");
      return;
    }
    try {
      const body = {
        name: form.name, issuer: form.issuer, audience: form.audience, delivery: form.delivery, subject_rules,
        ...(form.delivery === "poll" ? { poll_url: form.poll_url, ...(form.poll_token ? { poll_token: form.poll_token } : {}) } : {}),
      };
      const s = await api<Stream & { push_token: string | null }>("/ssf/streams", { method: "POST", body });
      if (s.push_token) setFresh(`${window.location.origin}${s.push_path}  —  Authorization: Bearer ${s.push_token}`);
      setForm(EMPTY);
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function remove(s: Stream) {
    if (!window.confirm(`Remove the stream "${s.name}"? Its SETs will be refused; those kept stay.`)) return;
    try {
      await api(`/ssf/streams/${encodeURIComponent(s.id)}`, { method: "DELETE" });
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <div className="stack">
      {fresh && <ShowOnce label="Push endpoint and token for the transmitter" value={fresh} onDone={() => setFresh(null)} />}
      <form className="card stack" onSubmit={create} aria-label="Add an SSF stream">
        <div className="row">
          <label className="field">
            Name
            <input required maxLength={128} value={form.name} onChange={set("name")} placeholder="okta" />
          </label>
          <label className="field">
            Transmitter issuer
            <input required type="url" value={form.issuer} onChange={set("issuer")} placeholder="https://acme.okta.com" />
          </label>
          <label className="field">
            Audience
            <input required value={form.audience} onChange={set("audience")} placeholder="https://revenant.example.com" />
          </label>
          <label className="field">
            Delivery
            <select value={form.delivery} onChange={set("delivery")}>
              <option value="push">push (RFC 8935)</option>
              <option value="poll">poll (RFC 8936)</option>
            </select>
          </label>
        </div>
        {form.delivery === "poll" && (
          <div className="row">
            <label className="field">
              Poll URL
              <input required type="url" value={form.poll_url} onChange={set("poll_url")} />
            </label>
            <label className="field">
              Poll bearer token
              <input type="password" value={form.poll_token} onChange={set("poll_token")} autoComplete="off" />
            </label>
          </div>
        )}
        <label className="field">
          Subject rules (JSON array; empty: the defaults)
          <textarea rows={3} value={form.rules} onChange={set("rules")} placeholder='[{"event":"session-revoked","format":"complex","path":"session.id"}]' />
        </label>
        <div>
          <button className="btn btn-primary" type="submit">
            Add stream
          </button>
        </div>
      </form>
      <ErrorLine error={error ?? (list.error ? errorText(list.error) : null)} />
      <div className="card">
        <table className="simple">
          <thead>
            <tr>
              <th>Name</th>
              <th>Issuer</th>
              <th>Delivery</th>
              <th>SETs</th>
              <th>Last event</th>
              <th>Last verified</th>
              <th>Last error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {streams?.length === 0 && (
              <tr>
                <td colSpan={8} className="muted">
                  No SSF streams yet.
                </td>
              </tr>
            )}
            {streams?.map((s) => (
              <tr key={s.id}>
                <td>{s.name}</td>
                <td>
                  <code>{s.issuer}</code>
                </td>
                <td>{s.delivery === "push" ? <code title="push endpoint">{s.push_path}</code> : `poll ${s.poll_url}`}</td>
                <td>{s.status.sets_accepted}</td>
                <td>
                  <Time value={s.status.last_event_at} />
                </td>
                <td>
                  <Time value={s.status.last_verified_at} />
                </td>
                <td title={s.status.last_error ?? undefined}>
                  {s.status.last_error ? (
                    <>
                      <Time value={s.status.last_error_at} /> <span className="muted">{s.status.last_error.slice(0, 80)}</span>
                    </>
                  ) : (
                    <span className="faint">—</span>
                  )}
                </td>
                <td>
                  <button className="btn btn-sm btn-warn" onClick={() => remove(s)}>
                    Remove
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
