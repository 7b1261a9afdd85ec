"use client";
/** SSF streams: list with status, add (push token shown once), enable/disable, verify, new push token, remove. docs/INTAKES.md, "Shared Signals". */
import { useMemo, useState, type FormEvent } from "react";
import { useCreateSsfStream, useDeleteSsfStream, useSsfStreams, useUpdateSsfStream, useVerifySsfStream, type SsfStream } from "@/components/data/ssf";
import { DataTable, type Column } from "@/components/ui/data-table";
import { Time } from "@/components/ui/time";
import { ErrorLine, errorText, ShowOnce, tableHeight, useAction } from "./shared";

const EMPTY = { name: "", issuer: "", audience: "", delivery: "push" as "push" | "poll", poll_url: "", poll_token: "", transmitter_stream_id: "", transmitter_token: "", rules: "" };

/** The last verification requested: answered (when), or still waiting for the transmitter's event. */
function Verification({ status }: { status: SsfStream["status"] }) {
  const v = status.verification;
  if (!v) return <span className="faint">—</span>;
  return v.answered_at ? (
    <span data-testid="verification-answered">
      answered <Time value={v.answered_at} ms={false} />
    </span>
  ) : (
    <span className="muted" data-testid="verification-waiting">
      requested <Time value={v.requested_at} ms={false} />, waiting
    </span>
  );
}

export function SsfSettings() {
  const list = useSsfStreams();
  const { mutateAsync: createStream } = useCreateSsfStream();
  const { mutateAsync: deleteStream } = useDeleteSsfStream();
  const { mutateAsync: updateStream } = useUpdateSsfStream();
  const { mutateAsync: verifyStream } = useVerifySsfStream();
  const { error, act } = useAction();
  const [formError, setFormError] = useState<string | null>(null);
  const [form, setForm] = useState(EMPTY);
  const [fresh, setFresh] = useState<string | null>(null);
  const set = (k: keyof typeof EMPTY) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  async function create(e: FormEvent) {
    e.preventDefault();
    setFormError(null);
    let subject_rules: unknown[] = [];
    try {
      subject_rules = form.rules.trim() ? JSON.parse(form.rules) : [];
    } catch {
      setFormError("Subject rules must be a JSON array (see docs/INTAKES.md, \"Subject rules\").");
      return;
    }
    await act(async () => {
      const body = {
        name: form.name, issuer: form.issuer, audience: form.audience, delivery: form.delivery,
        subject_rules: subject_rules as SsfStream["subject_rules"],
        ...(form.delivery === "poll" ? { poll_url: form.poll_url, ...(form.poll_token ? { poll_token: form.poll_token } : {}) } : {}),
        ...(form.transmitter_stream_id ? { transmitter_stream_id: form.transmitter_stream_id } : {}),
        ...(form.transmitter_token ? { transmitter_token: form.transmitter_token } : {}),
      };
      const s = await createStream(body);
      if (s.push_token) setFresh(`${window.location.origin}${s.push_path}  —  Authorization: Bearer ${s.push_token}`);
      setForm(EMPTY);
    });
  }

  const columns = useMemo<Column<SsfStream>[]>(
    () => [
      {
        id: "name",
        header: "Name",
        accessorKey: "name",
        size: 160,
        cell: (c) => (
          <span>
            {c.row.original.name} {!c.row.original.enabled && <span className="badge badge-plain">disabled</span>}
          </span>
        ),
      },
      { id: "issuer", header: "Issuer", accessorKey: "issuer", size: 220, cell: (c) => <code>{c.row.original.issuer}</code> },
      {
        id: "delivery",
        header: "Delivery",
        accessorKey: "delivery",
        size: 220,
        cell: (c) => (c.row.original.delivery === "push" ? <code title="push endpoint">{c.row.original.push_path}</code> : `poll ${c.row.original.poll_url}`),
      },
      { id: "sets", header: "SETs", accessorFn: (s) => s.status.sets_accepted, size: 70 },
      { id: "last_event", header: "Last event", accessorFn: (s) => s.status.last_event_at ?? "", size: 180, cell: (c) => <Time value={c.row.original.status.last_event_at} ms={false} /> },
      { id: "last_verified", header: "Last verified", accessorFn: (s) => s.status.last_verified_at ?? "", size: 180, cell: (c) => <Time value={c.row.original.status.last_verified_at} ms={false} /> },
      {
        id: "verification",
        header: "Verification",
        accessorFn: (s) => s.status.verification?.requested_at ?? "",
        size: 230,
        cell: (c) => <Verification status={c.row.original.status} />,
      },
      {
        id: "last_error",
        header: "Last error",
        accessorFn: (s) => s.status.last_error ?? "",
        size: 240,
        cell: (c) => {
          const st = c.row.original.status;
          return st.last_error ? (
            <span title={st.last_error}>
              <Time value={st.last_error_at} ms={false} /> <span className="muted">{st.last_error.slice(0, 80)}</span>
            </span>
          ) : (
            <span className="faint">—</span>
          );
        },
      },
      {
        id: "actions",
        header: "",
        enableSorting: false,
        size: 360,
        cell: (c) => {
          const st = c.row.original;
          return (
            <span className="row">
              <button className="btn btn-sm" onClick={() => act(() => updateStream({ id: st.id, change: { enabled: !st.enabled } }))}>
                {st.enabled ? "Disable" : "Enable"}
              </button>
              <button
                className="btn btn-sm"
                disabled={!st.transmitter_stream_id}
                title={st.transmitter_stream_id ? "Ask the transmitter for a verification event" : "Needs the transmitter's id for this stream"}
                onClick={() => act(async () => void (await verifyStream(st.id)))}
              >
                Verify
              </button>
              {st.delivery === "push" && (
                <button
                  className="btn btn-sm"
                  onClick={() =>
                    window.confirm(`Make a new push token for "${st.name}"? The current one stops working at once.`) &&
                    act(async () => {
                      const s = await updateStream({ id: st.id, change: { rotate_push_token: true } });
                      if (s.push_token) setFresh(`${window.location.origin}${s.push_path}  —  Authorization: Bearer ${s.push_token}`);
                    })
                  }
                >
                  New push token
                </button>
              )}
              <button
                className="btn btn-sm btn-warn"
                onClick={() => window.confirm(`Remove the stream "${st.name}"? Its SETs will be refused; those kept stay.`) && act(() => deleteStream(st.id))}
              >
                Remove
              </button>
            </span>
          );
        },
      },
    ],
    [act, deleteStream, updateStream, verifyStream],
  );
  const streams = list.data?.items ?? [];

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
        <div className="row">
          <label className="field">
            Transmitter&apos;s id for this stream (for verification)
            <input maxLength={256} value={form.transmitter_stream_id} onChange={set("transmitter_stream_id")} placeholder="optional" />
          </label>
          <label className="field">
            Transmitter API token
            <input type="password" value={form.transmitter_token} onChange={set("transmitter_token")} autoComplete="off" placeholder="optional" />
          </label>
        </div>
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
      <ErrorLine error={formError ?? error ?? (list.error ? errorText(list.error) : null)} />
      <DataTable
        label="SSF streams"
        data={streams}
        columns={columns}
        rowId={(st) => st.id}
        rowHeight={44}
        height={tableHeight(streams.length, 44)}
        empty={<span className="muted">{list.isPending ? "Loading…" : "No SSF streams yet."}</span>}
      />
    </div>
  );
}
