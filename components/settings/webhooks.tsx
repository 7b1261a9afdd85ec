"use client";
/** Webhook endpoints: list, create (the signing secret is shown once), enable/disable, delete, send test, deliveries. */
import { useCallback, useMemo, useState } from "react";
import { useDeleteEndpoint, useSendTest, useUpdateEndpoint, useWebhookEndpoints } from "@/components/data/webhooks";
import type { WebhookEndpoint } from "@/components/data/types";
import { DataTable, type Column } from "@/components/ui/data-table";
import { Time } from "@/components/ui/time";
import { ErrorLine, errorText, ShowOnce, tableHeight, useAction } from "./shared";
import { CreateEndpoint } from "./webhook-form";
import { Deliveries } from "./webhook-deliveries";

const ROW_HEIGHT = 78;

export function WebhooksSettings() {
  const list = useWebhookEndpoints();
  const { mutateAsync: updateEndpoint } = useUpdateEndpoint();
  const { mutateAsync: deleteEndpoint } = useDeleteEndpoint();
  const { mutateAsync: sendTest } = useSendTest();
  const { error, act } = useAction();
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [testResult, setTestResult] = useState<Record<string, string>>({});

  const test = useCallback(
    async (id: string) => {
      setTestResult((r) => ({ ...r, [id]: "sending…" }));
      try {
        const t = await sendTest(id);
        setTestResult((r) => ({ ...r, [id]: t.ok ? `delivered (HTTP ${t.status_code}, ${t.duration_ms} ms)` : `failed: ${t.error}` }));
      } catch (err) {
        setTestResult((r) => ({ ...r, [id]: `failed: ${errorText(err)}` }));
      }
    },
    [sendTest],
  );

  const columns = useMemo<Column<WebhookEndpoint>[]>(
    () => [
      {
        id: "url",
        header: "URL",
        accessorKey: "url",
        size: 360,
        cell: (c) => (
          <>
            <code title={c.row.original.url}>{c.row.original.url}</code>
            {c.row.original.description && <div className="muted">{c.row.original.description}</div>}
          </>
        ),
      },
      {
        id: "filters",
        header: "Filters",
        enableSorting: false,
        size: 260,
        cell: (c) => (
          <>
            <div>severity ≥ {c.row.original.min_severity}</div>
            <div className="muted">rules: {c.row.original.rules.length ? c.row.original.rules.join(", ") : "all"}</div>
            <div className="muted">pipelines: {c.row.original.pipelines.length ? c.row.original.pipelines.join(", ") : "all"}</div>
          </>
        ),
      },
      { id: "status", header: "Status", accessorFn: (e) => (e.enabled ? "enabled" : "disabled"), size: 100, cell: (c) => <span className="badge badge-plain">{String(c.getValue())}</span> },
      { id: "created_at", header: "Created", accessorKey: "created_at", size: 170, cell: (c) => <Time value={c.row.original.created_at} ms={false} /> },
      {
        id: "actions",
        header: "",
        enableSorting: false,
        size: 360,
        cell: (c) => {
          const e = c.row.original;
          return (
            <>
              <div className="row">
                <button className="btn btn-sm" onClick={() => void test(e.id)}>
                  Send test
                </button>
                <button className="btn btn-sm" onClick={() => setOpen((o) => (o === e.id ? null : e.id))} aria-expanded={open === e.id} aria-controls="webhook-deliveries">
                  Deliveries
                </button>
                <button className="btn btn-sm" onClick={() => act(() => updateEndpoint({ id: e.id, change: { enabled: !e.enabled } }))}>
                  {e.enabled ? "Disable" : "Enable"}
                </button>
                <button className="btn btn-sm btn-warn" onClick={() => window.confirm(`Delete the endpoint ${e.url}? Pending deliveries are cancelled.`) && act(() => deleteEndpoint(e.id))}>
                  Delete
                </button>
              </div>
              {testResult[e.id] && (
                <div className="muted" role="status">
                  {testResult[e.id]}
                </div>
              )}
            </>
          );
        },
      },
    ],
    [act, updateEndpoint, deleteEndpoint, test, open, testResult],
  );
  const items = list.data?.items ?? [];
  const opened = items.find((e) => e.id === open) ?? null;

  return (
    <div className="stack">
      {secret && <ShowOnce label="Signing secret" value={secret} onDone={() => setSecret(null)} />}
      <CreateEndpoint onCreated={setSecret} />
      <ErrorLine error={error ?? (list.error ? errorText(list.error) : null)} />
      <DataTable
        label="Webhook endpoints"
        data={items}
        columns={columns}
        rowId={(e) => e.id}
        rowHeight={ROW_HEIGHT}
        height={tableHeight(items.length, ROW_HEIGHT)}
        empty={<span className="muted">{list.isPending ? "Loading…" : "No webhook endpoints yet."}</span>}
      />
      {opened && (
        <section className="card" id="webhook-deliveries" aria-label={`Deliveries to ${opened.url}`}>
          <div className="card-head">
            <h2>
              Deliveries <span className="muted">{opened.description || opened.url}</span>
            </h2>
          </div>
          <Deliveries endpointId={opened.id} />
        </section>
      )}
    </div>
  );
}
