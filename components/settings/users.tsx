"use client";
/** Users: list, add, change role, disable/enable, delete. */
import { useMemo, useState, type FormEvent } from "react";
import type { Role, User } from "@/components/data/types";
import { useCreateUser, useDeleteUser, useUpdateUser, useUsers } from "@/components/data/users";
import { DataTable, type Column } from "@/components/ui/data-table";
import { Time } from "@/components/ui/time";
import { ErrorLine, errorText, RoleSelect, tableHeight, useAction } from "./shared";

export function UsersSettings() {
  const list = useUsers();
  const { mutateAsync: createUser } = useCreateUser();
  const { mutateAsync: updateUser } = useUpdateUser();
  const { mutateAsync: deleteUser } = useDeleteUser();
  const { error, act } = useAction();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [password, setPassword] = useState("");

  function submit(e: FormEvent) {
    e.preventDefault();
    void act(async () => {
      await createUser({ email, role, password });
      setEmail("");
      setPassword("");
    });
  }

  const columns = useMemo<Column<User>[]>(
    () => [
      { id: "email", header: "Email", accessorKey: "email", size: 260 },
      {
        id: "role",
        header: "Role",
        accessorKey: "role",
        size: 150,
        cell: (c) => <RoleSelect label={`Role of ${c.row.original.email}`} value={c.row.original.role} onChange={(r) => act(() => updateUser({ id: c.row.original.id, change: { role: r } }))} />,
      },
      { id: "status", header: "Status", accessorFn: (u) => (u.disabled ? "disabled" : "active"), size: 100, cell: (c) => <span className="badge badge-plain">{String(c.getValue())}</span> },
      { id: "created_at", header: "Created", accessorKey: "created_at", size: 190, cell: (c) => <Time value={c.row.original.created_at} ms={false} /> },
      {
        id: "actions",
        header: "",
        enableSorting: false,
        size: 180,
        cell: (c) => {
          const u = c.row.original;
          return (
            <div className="row">
              <button className="btn btn-sm" onClick={() => act(() => updateUser({ id: u.id, change: { disabled: !u.disabled } }))}>
                {u.disabled ? "Enable" : "Disable"}
              </button>
              <button className="btn btn-sm btn-warn" onClick={() => window.confirm(`Delete ${u.email}?`) && act(() => deleteUser(u.id))}>
                Delete
              </button>
            </div>
          );
        },
      },
    ],
    [act, updateUser, deleteUser],
  );
  const users = list.data?.items ?? [];

  return (
    <div className="stack">
      <form className="card row" onSubmit={submit} aria-label="Add a user">
        <label className="field">
          Email
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />
        </label>
        <label className="field">
          Role
          <RoleSelect value={role} onChange={setRole} />
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
      <DataTable
        label="Users"
        data={users}
        columns={columns}
        rowId={(u) => u.id}
        rowHeight={44}
        height={tableHeight(users.length, 44)}
        empty={<span className="muted">{list.isPending ? "Loading…" : "No users."}</span>}
      />
    </div>
  );
}
