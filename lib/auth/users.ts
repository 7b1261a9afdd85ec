/** People who sign in (password or single sign-on). Passwords are stored as argon2id hashes only. */
import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import { decodeCursor, page } from "../http/cursor";
import type { AdminListQuery } from "../queries/admin-lists";
import { Conditions } from "../queries/conditions";
import { insertRows, queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./passwords";
import { ROLES, type Role } from "./roles";

export interface User {
  id: string;
  email: string;
  role: Role;
  disabled: boolean;
  created_at: string;
  updated_at: string;
}

interface UserRow extends User {
  password_hash: string;
  version: number;
  is_deleted: number;
}

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(3)
  .max(254)
  .regex(/^[^\s@]+@[^\s@]+$/, "not an email address");
export const passwordSchema = z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH);
export const roleSchema = z.enum(ROLES);

const COLUMNS = "id, email, role, password_hash, disabled, created_at, updated_at";

export class UserExistsError extends Error {}

export class UserStore {
  constructor(
    private readonly reader: ClickHouseClient,
    private readonly writer: ClickHouseClient,
  ) {}

  /** A page of users by email (docs/API.md, GET /users). */
  async list(q: AdminListQuery): Promise<{ items: User[]; next_cursor: string | null }> {
    const c = new Conditions().after("email", "id", decodeCursor(q.cursor));
    const rows = await queryRows<User>(
      this.reader,
      "users:list",
      `SELECT id, email, role, disabled, created_at, updated_at FROM users FINAL ${c.where} ORDER BY email, id LIMIT {limit:UInt32}`,
      { ...c.params, limit: q.limit + 1 },
    );
    return page(rows, q.limit, (u) => ({ t: u.email, id: u.id }));
  }

  /**
   * The enabled admins: a change must leave one (the users routes and single sign-on refuse the
   * last one's removal, inside oneAdminChangeAtATime).
   */
  async enabledAdmins(): Promise<User[]> {
    return queryRows<User>(
      this.reader,
      "users:admins",
      `SELECT id, email, role, disabled, created_at, updated_at FROM users FINAL WHERE role = 'admin' AND NOT disabled ORDER BY email`,
    );
  }

  /** With the password hash: only for sign-in. */
  async byEmailWithHash(email: string): Promise<(User & { password_hash: string }) | null> {
    const rows = await queryRows<User & { password_hash: string }>(this.reader, "users:byEmail", `SELECT ${COLUMNS} FROM users FINAL WHERE email = {email:String}`, {
      email: email.trim().toLowerCase(),
    });
    return rows[0] ?? null;
  }

  async byId(id: string): Promise<User | null> {
    const rows = await queryRows<User>(this.reader, "users:byId", `SELECT id, email, role, disabled, created_at, updated_at FROM users FINAL WHERE id = {id:String}`, { id });
    return rows[0] ?? null;
  }

  async count(): Promise<number> {
    const rows = await queryRows<{ n: number }>(this.reader, "users:count", `SELECT count() AS n FROM users FINAL`);
    return Number(rows[0]?.n ?? 0);
  }

  async create(input: { email: string; role: Role; password: string; id?: string }): Promise<User> {
    const email = emailSchema.parse(input.email);
    const password = passwordSchema.parse(input.password);
    if (await this.byEmailWithHash(email)) throw new UserExistsError(`a user with email ${email} exists`);
    const now = new Date().toISOString();
    const row: UserRow = {
      id: input.id ?? randomUUID(),
      email,
      role: roleSchema.parse(input.role),
      password_hash: await hashPassword(password),
      disabled: false,
      created_at: now,
      updated_at: now,
      version: nextVersion(),
      is_deleted: 0,
    };
    await insertRows(this.writer, "users", [row], { comment: "users:create" });
    return strip(row);
  }

  /**
   * Single sign-on (lib/auth/oidc.ts): the user with this email, created on first sign-in
   * without a password (an empty hash never verifies), its role set to what the identity
   * provider maps to. A disabled user stays disabled: the caller refuses the sign-in.
   */
  async provision(emailInput: string, role: Role): Promise<{ user: User; created: boolean; previousRole: Role | null }> {
    const email = emailSchema.parse(emailInput);
    const existing = await this.byEmailWithHash(email);
    if (existing) {
      if (existing.disabled || existing.role === role) return { user: strip({ ...existing, version: 0, is_deleted: 0 }), created: false, previousRole: null };
      return { user: (await this.update(existing.id, { role }))!, created: false, previousRole: existing.role };
    }
    const now = new Date().toISOString();
    const row: UserRow = { id: randomUUID(), email, role: roleSchema.parse(role), password_hash: "", disabled: false, created_at: now, updated_at: now, version: nextVersion(), is_deleted: 0 };
    await insertRows(this.writer, "users", [row], { comment: "users:provision" });
    return { user: strip(row), created: true, previousRole: null };
  }

  /** Changes role, password or disabled flag. Returns null when the user does not exist. */
  async update(id: string, change: { role?: Role; password?: string; disabled?: boolean }): Promise<User | null> {
    const current = await this.byId(id);
    if (!current) return null;
    const withHash = (await this.byEmailWithHash(current.email))!;
    const row: UserRow = {
      ...withHash,
      role: change.role ?? current.role,
      disabled: change.disabled ?? current.disabled,
      password_hash: change.password !== undefined ? await hashPassword(passwordSchema.parse(change.password)) : withHash.password_hash,
      updated_at: new Date().toISOString(),
      version: nextVersion(),
      is_deleted: 0,
    };
    await insertRows(this.writer, "users", [row], { comment: "users:update" });
    return strip(row);
  }

  async delete(id: string): Promise<boolean> {
    const current = await this.byId(id);
    if (!current) return false;
    const withHash = (await this.byEmailWithHash(current.email))!;
    await insertRows(this.writer, "users", [{ ...withHash, updated_at: new Date().toISOString(), version: nextVersion(), is_deleted: 1 }], { comment: "users:delete" });
    return true;
  }
}

function strip(row: UserRow): User {
  return { id: row.id, email: row.email, role: row.role, disabled: row.disabled, created_at: row.created_at, updated_at: row.updated_at };
}

const adminChangesKey = Symbol.for("revenant.adminChanges");

/**
 * Runs changes that may remove an admin (a demotion, a disable, a delete, a role a sign-on
 * maps) one at a time in this process, each checking what is left and writing before the next
 * looks: two demotions at once each saw the other admin still there, and left none. (Several
 * web processes on one server would need a lock in the store; README.md, "Known limits".)
 */
export function oneAdminChangeAtATime<T>(change: () => Promise<T>): Promise<T> {
  const g = globalThis as typeof globalThis & { [adminChangesKey]?: Promise<unknown> };
  const run = (g[adminChangesKey] ?? Promise.resolve()).then(change);
  g[adminChangesKey] = run.catch(() => {});
  return run;
}
