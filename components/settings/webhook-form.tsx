"use client";
/** The "Add endpoint" form; the created endpoint's signing secret goes to `onCreated`, to be shown once. */
import { useState, type FormEvent } from "react";
import type { AlertSeverity } from "@/components/data/types";
import { ALERT_RULES, useCreateEndpoint } from "@/components/data/webhooks";
import { ErrorLine, useAction } from "./shared";

export function CreateEndpoint({ onCreated }: { onCreated: (secret: string) => void }) {
  const { mutateAsync: createEndpoint } = useCreateEndpoint();
  const { error, act } = useAction();
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [minSeverity, setMinSeverity] = useState<AlertSeverity>("high");
  const [rules, setRules] = useState<string[]>([]);
  const [pipelines, setPipelines] = useState("");

  function submit(e: FormEvent) {
    e.preventDefault();
    void act(async () => {
      const created = await createEndpoint({
        url,
        description,
        min_severity: minSeverity,
        rules: ALERT_RULES.filter((r) => rules.includes(r)),
        pipelines: pipelines
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      });
      setUrl("");
      setDescription("");
      setRules([]);
      setPipelines("");
      onCreated(created.secret);
    });
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
          <select value={minSeverity} onChange={(e) => setMinSeverity(e.target.value as AlertSeverity)}>
            <option value="high">high</option>
            <option value="critical">critical</option>
          </select>
        </label>
        <fieldset className="field" style={{ border: "none", padding: 0 }}>
          <legend>Rules (none: all)</legend>
          <div className="row">
            {ALERT_RULES.map((r) => (
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
