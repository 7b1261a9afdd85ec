"use client";
/** API keys: list, create (the key is shown once), revoke. */
import { useMemo, useState, type FormEvent } from "react";
import { useApiKeys, useCreateKey, useRevokeKey } from "@/components/data/keys";
import { KEY_ROLES } from "@/components/data/users";
import type { ApiKey, Role } from "@/components/data/types";
import { DataTable, type Column } from "@/components/ui/data-table";
import { Time } from "@/components/ui/time";
import { ErrorLine, errorText, RoleSelect, ShowOnce, tableHeight, useAction } from "./shared";

export function KeysSettings() {
  const list = useApiKeys();
  const { mutateAsync: createKey } = useCreateKey();
  const { mutateAsync: revokeKey } = useRevokeKey();
  const { error, act } = useAction();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [fresh, setFresh] = useState<string | null>(null);

  function create(e: FormEvent) {
    e.preventDefault();
    void act(async () => {
      const k = await createKey({ name, role });
      setFresh(k.key);
      setName("");
    });
  }

  const columns = useMemo<Column<ApiKey>[]>(
    () => [
      { id: "name", header: "Name", accessorKey: "name", size: 200 },
      { id: "prefix", header: "Key", accessorKey: "prefix", size: 130, cell: (c) => <code>{c.row.original.prefix}…</code> },
      { id: "role", header: "Role", accessorKey: "role", size: 110 },
      { id: "created_at", header: "Created", accessorKey: "created_at", size: 190, cell: (c) => <Time value={c.row.original.created_at} ms={false} /> },
      { id: "created_by", header: "By", accessorKey: "created_by", size: 180 },
      { id: "status", header: "Status", accessorFn: (k) => (k.revoked_at ? "revoked" : "active"), size: 100, cell: (c) => <span className="badge badge-plain">{String(c.getValue())}</span> },
      {
        id: "actions",
        header: "",
        enableSorting: false,
        size: 100,
        cell: (c) => {
          const k = c.row.original;
          if (k.revoked_at) return null;
          return (
            <button className="btn btn-sm btn-warn" onClick={() => window.confirm(`Revoke "${k.name}"? Clients using it stop working at once.`) && act(() => revokeKey(k.id))}>
              Revoke
            </button>
          );
        },
      },
    ],
    [act, revokeKey],
  );
  const keys = list.data?.items ?? [];

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
          <RoleSelect value={role} onChange={setRole} roles={KEY_ROLES} />
        </label>
        <button className="btn btn-primary" type="submit">
          Create key
        </button>
      </form>
      <ErrorLine error={error ?? (list.error ? errorText(list.error) : null)} />
      <DataTable
        label="API keys"
        data={keys}
        columns={columns}
        rowId={(k) => k.id}
        rowHeight={40}
        height={tableHeight(keys.length, 40)}
        empty={<span className="muted">{list.isPending ? "Loading…" : "No API keys yet."}</span>}
      />
    </div>
  );
}
