/**
 * API keys for clients (README "Security"): `rvk_` + 256 random bits, shown once at creation,
 * stored as SHA-256 only, each with a role and ingest scopes (./scopes.ts), revocable.
 */
import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import { newestFirstPage, type AdminListQuery } from "../queries/admin-lists";
import { insertRows, queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { authCache } from "./cache";
import { randomToken, sha256Hex } from "./crypto";
import type { Principal, Role } from "./roles";
import { effectiveScopes, type Scope } from "./scopes";

export const KEY_PREFIX = "rvk_";

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  scopes: string[];
  prefix: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

interface ApiKeyRow extends ApiKey {
  key_hash: string;
  version: number;
}

export const keyNameSchema = z.string().trim().min(1).max(128);

const PUBLIC_COLUMNS = "id, name, role, scopes, prefix, created_at, created_by, revoked_at";

export class ApiKeyStore {
  constructor(
    private readonly reader: ClickHouseClient,
    private readonly writer: ClickHouseClient,
  ) {}

  /** Returns the key itself once; only its hash is kept. */
  /** `id`: chosen by the caller when the audit row is written before the key exists. */
  async create(input: { name: string; role: Role; createdBy: string; id?: string; scopes?: Scope[] }): Promise<{ key: string; apiKey: ApiKey }> {
    const key = KEY_PREFIX + randomToken();
    const row: ApiKeyRow = {
      id: input.id ?? randomUUID(),
      name: keyNameSchema.parse(input.name),
      role: input.role,
      scopes: effectiveScopes(input.scopes),
      key_hash: sha256Hex(key),
      prefix: key.slice(0, KEY_PREFIX.length + 6),
      created_at: new Date().toISOString(),
      created_by: input.createdBy,
      revoked_at: null,
      version: nextVersion(),
    };
    await insertRows(this.writer, "api_keys", [row], { comment: "keys:create" });
    const { key_hash: _h, version: _v, ...apiKey } = row;
    return { key, apiKey };
  }

  /** A page of keys, newest first (docs/API.md, GET /keys). */
  list(q: AdminListQuery): Promise<{ items: ApiKey[]; next_cursor: string | null }> {
    return newestFirstPage<ApiKey>(this.reader, "keys:list", "api_keys", PUBLIC_COLUMNS, q);
  }


  async get(id: string): Promise<ApiKey | null> {
    const rows = await queryRows<ApiKey>(this.reader, "keys:get", `SELECT ${PUBLIC_COLUMNS} FROM api_keys FINAL WHERE id = {id:String}`, { id });
    return rows[0] ?? null;
  }

  /** Returns the revoked key, or null if there is no such key. Revoking twice keeps the first time. */
  async revoke(id: string): Promise<ApiKey | null> {
    const rows = await queryRows<ApiKeyRow>(this.reader, "keys:getRow", `SELECT * FROM api_keys FINAL WHERE id = {id:String}`, { id });
    const row = rows[0];
    if (!row) return null;
    authCache().clear();
    if (row.revoked_at) return this.get(id);
    const revoked = { ...row, revoked_at: new Date().toISOString(), version: nextVersion() };
    await insertRows(this.writer, "api_keys", [revoked], { comment: "keys:revoke" });
    authCache().clear();
    const { key_hash: _h, version: _v, ...apiKey } = revoked;
    return apiKey;
  }

  async principal(key: string): Promise<Principal | null> {
    if (!key.startsWith(KEY_PREFIX)) return null;
    const hash = sha256Hex(key);
    return authCache().get(`k:${hash}`, async () => {
      const rows = await queryRows<ApiKeyRow>(
        this.reader,
        "keys:lookup",
        `SELECT ${PUBLIC_COLUMNS} FROM api_keys FINAL WHERE key_hash = {h:String} AND revoked_at IS NULL`,
        { h: hash },
      );
      const k = rows[0];
      return k ? ({ kind: "api_key", id: k.id, name: k.name, role: k.role, scopes: effectiveScopes(k.scopes) } satisfies Principal) : null;
    });
  }
}
