"use client";
/** Webhook endpoints: list, create (the signing secret is shown once), enable/disable, delete, send test, deliveries. */
import { Fragment, useState, type FormEvent } from "react";
import { api } from "@/components/data/api";
import { useInvalidate, useSettingsList } from "./hooks";
import { ErrorLine, errorText, ShowOnce, Time } from "./shared";

interface Endpoint {
  id: string;
  url: string;
  description: string;
  min_severity: "high" | "critical";
  rules: string[];
  pipelines: string[];
  enabled: boolean;
  created_at: string;
  created_by: string;
}

interface AttemptLog {
  attempt: number;
  at: string;
  duration_ms: number;
  status_code: number | null;
  error: string;
  outcome: string;
}

interface Delivery {
  id: string;
  type: string;
  alert_id: string;
  status: string;
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  delivered_at: string | null;
  last_status_code: number | null;
  last_error: string;
  attempt_log: AttemptLog[];
}

const RULES = ["post_revocation_activity", "delegated_authority_leak", "partial_containment"];

export function WebhooksSettings() {
  const list = useSettingsList<Endpoint>("webhooks", "/webhooks");
  const items = list.data?.items ?? null;
  const load = useInvalidate("webhooks");
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [testResult, setTestResult] = useState<Record<string, string>>({});


  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try {
      await fn();
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <div className="stack">
      {secret && <ShowOnce label="Signing secret" value={secret} onDone={() => setSecret(null)} />}
      <CreateEndpoint
        onCreated={(s) => {
          setSecret(s);
          void load();
        }}
      />
      <ErrorLine error={error ?? (list.error ? errorText(list.error) : null)} />
      <div className="card">
        <table className="simple">
          <thead>
            <tr>
              <th>URL</th>
              <th>Filters</th>
              <th>Status</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items?.length === 0 && (
              <tr>
                <td colSpan={5} className="muted">
                  No webhook endpoints yet.
                </td>
              </tr>
            )}
            {items?.map((e) => (
              <Fragment key={e.id}>
                <tr>
                  <td className="truncate" style={{ maxWidth: 420 }}>
                    <code title={e.url}>{e.url}</code>
                    {e.description && <div className="muted">{e.description}</div>}
                  </td>
                  <td>
                    <div>severity ≥ {e.min_severity}</div>
                    <div className="muted">rules: {e.rules.length ? e.rules.join(", ") : "all"}</div>
                    <div className="muted">pipelines: {e.pipelines.length ? e.pipelines.join(", ") : "all"}</div>
                  </td>
                  <td>
                    <span className="badge badge-plain">{e.enabled ? "enabled" : "disabled"}</span>
                  </td>
                  <td>
                    <Time value={e.created_at} />
                  </td>
                  <td>
                    <div className="row">
                      <button
                        className="btn btn-sm"
                        onClick={async () => {
                          setTestResult((r) => ({ ...r, [e.id]: "sending…" }));
                          try {
                            const t = await api<{ ok: boolean; status_code: number | null; error: string; duration_ms: number }>(`/webhooks/${e.id}/test`, { method: "POST" });
                            setTestResult((r) => ({ ...r, [e.id]: t.ok ? `delivered (HTTP ${t.status_code}, ${t.duration_ms} ms)` : `failed: ${t.error}` }));
                          } catch (err) {
                            setTestResult((r) => ({ ...r, [e.id]: `failed: ${errorText(err)}` }));
                          }
                        }}
                      >
                        Send test
                      </button>
                      <button className="btn btn-sm" onClick={() => setOpen(open === e.id ? null : e.id)} aria-expanded={open === e.id}>
                        Deliveries
                      </button>
                      <button className="btn btn-sm" onClick={() => act(() => api(`/webhooks/${e.id}`, { method: "PATCH", body: { enabled: !e.enabled } }))}>
                        {e.enabled ? "Disable" : "Enable"}
                      </button>
                      <button
                        className="btn btn-sm btn-warn"
                        onClick={() => window.confirm(`Delete the endpoint ${e.url}? Pending deliveries are cancelled.`) && act(() => api(`/webhooks/${e.id}`, { method: "DELETE" }))}
                      >
                        Delete
                      </button>
                    </div>
                    {testResult[e.id] && (
                      <div className="muted" role="status">
                        {testResult[e.id]}
                      </div>
                    )}
                  </td>
                </tr>
                {open === e.id && (
                  <tr>
                    <td colSpan={5}>
                      <Deliveries endpointId={e.id} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function CreateEndpoint({ onCreated }: { onCreated: (secret: string) => void }) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [minSeverity, setMinSeverity] = useState("high");
  const [rules, setRules] = useState<string[]>([]);
  const [pipelines, setPipelines] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const created = await api<Endpoint & { secret: string }>("/webhooks", {
        method: "POST",
        body: {
          url,
          description,
          min_severity: minSeverity,
          rules,
          pipelines: pipelines
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
        },
      });
      setUrl("");
      setDescription("");
      setRules([]);
      setPipelines("");
      onCreated(created.secret);
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <form className="card stack" onSubmit={submit} aria-label="Add a webhook endpoint">
      <div className="card-head">
        <h2>Add endpoint</h2>
      </div>
      <div className="row">
        <label className="field" style={{ flex: 2 }}>
          URL
          <input type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://hooks.example.com/revenant" />
        </label>
        <label className="field" style={{ flex: 1 }}>
          Description
          <input value={description} maxLength={512} onChange={(e) => setDescription(e.target.value)} />
        </label>
      </div>
      <div className="row">
        <label className="field">
          Minimum severity
          <select value={minSeverity} onChange={(e) => setMinSeverity(e.target.value)}>
            <option value="high">high</option>
            <option value="critical">critical</option>
          </select>
        </label>
        <fieldset className="field" style={{ border: "none", padding: 0 }}>
          <legend>Rules (none: all)</legend>
          <div className="row">
            {RULES.map((r) => (
              <label key={r} className="field-inline">
                <input type="checkbox" style={{ minWidth: 0, width: "auto" }} checked={rules.includes(r)} onChange={(e) => setRules((rs) => (e.target.checked ? [...rs, r] : rs.filter((x) => x !== r)))} />
                {r}
              </label>
            ))}
          </div>
        </fieldset>
        <label className="field">
          Pipelines (comma-separated, none: all)
          <input value={pipelines} onChange={(e) => setPipelines(e.target.value)} />
        </label>
        <button className="btn btn-primary" type="submit" style={{ alignSelf: "flex-end" }}>
          Add endpoint
        </button>
      </div>
      <ErrorLine error={error} />
    </form>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const list = useSettingsList<Delivery>("webhooks", `/webhooks/${endpointId}/deliveries`, { limit: 50 }, 5_000);
  const items = list.data?.items ?? null;
  if (list.error) return <ErrorLine error={errorText(list.error)} />;
  if (!items) return <p className="muted">Loading deliveries…</p>;
  if (items.length === 0) return <p className="muted">No deliveries yet.</p>;
  return (
    <table className="simple" aria-label="Deliveries">
      <thead>
        <tr>
          <th>Created</th>
          <th>Event</th>
          <th>webhook-id</th>
          <th>Status</th>
          <th>Attempts (time · result · duration)</th>
        </tr>
      </thead>
      <tbody>
        {items.map((d) => (
          <tr key={d.id}>
            <td>
              <Time value={d.created_at} />
            </td>
            <td>
              {d.type}
              {d.alert_id && <div className="muted mono">{d.alert_id}</div>}
            </td>
            <td>
              <code>{d.id}</code>
            </td>
            <td>
              <span className="badge badge-plain">{d.status}</span>
              {d.status === "pending" && d.attempts > 0 && (
                <div className="muted">
                  next <Time value={d.next_attempt_at} />
                </div>
              )}
            </td>
            <td>
              <ul className="list-plain">
                {d.attempt_log.map((a) => (
                  <li key={`${a.attempt}-${a.at}`}>
                    <span>#{a.attempt}</span>
                    <Time value={a.at} />
                    <span>{a.status_code !== null ? `HTTP ${a.status_code}` : a.error}</span>
                    <span className="muted">{a.duration_ms} ms</span>
                  </li>
                ))}
              </ul>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
