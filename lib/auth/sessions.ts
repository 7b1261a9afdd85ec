/**
 * Sessions of people who signed in. The cookie carries a random token; the table holds
 * only its SHA-256. Each lookup also re-reads the user, so a disabled user or a changed
 * role takes effect at once (within the cache's few seconds in other processes).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { config } from "../config";
import { insertRows, queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { authCache } from "./cache";
import { randomToken, sha256Hex } from "./crypto";
import type { Principal } from "./roles";
import { UserStore, type User } from "./users";

interface SessionRow {
  token_hash: string;
  user_id: string;
  email: string;
  created_at: string;
  expires_at: string;
  revoked: number;
  version: number;
}

export interface NewSession {
  token: string;
  csrf: string;
  expiresAt: Date;
  maxAgeSeconds: number;
}

export class SessionStore {
  constructor(
    private readonly reader: ClickHouseClient,
    private readonly writer: ClickHouseClient,
  ) {}

  async create(user: User): Promise<NewSession> {
    const token = randomToken();
    const maxAgeSeconds = Math.round(config().REVENANT_SESSION_TTL_HOURS * 3600);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + maxAgeSeconds * 1000);
    const row: SessionRow = {
      token_hash: sha256Hex(token),
      user_id: user.id,
      email: user.email,
      created_at: now.toISOString(),
      expires_at: expiresAt.toISOString(),
      revoked: 0,
      version: nextVersion(),
    };
    await insertRows(this.writer, "sessions", [row], { comment: "sessions:create" });
    return { token, csrf: randomToken(24), expiresAt, maxAgeSeconds };
  }

  async principal(token: string): Promise<Principal | null> {
    const hash = sha256Hex(token);
    return authCache().get(`s:${hash}`, async () => {
      const rows = await queryRows<SessionRow>(
        this.reader,
        "sessions:lookup",
        `SELECT token_hash, user_id, email, created_at, expires_at, revoked, version FROM sessions FINAL
         WHERE token_hash = {h:String} AND revoked = 0 AND expires_at > now64(3)`,
        { h: hash },
      );
      const s = rows[0];
      if (!s) return null;
      const user = await new UserStore(this.reader, this.writer).byId(s.user_id);
      if (!user || user.disabled) return null;
      return { kind: "user", id: user.id, name: user.email, role: user.role } satisfies Principal;
    });
  }

  async revoke(token: string): Promise<void> {
    const hash = sha256Hex(token);
    const rows = await queryRows<SessionRow>(this.reader, "sessions:get", `SELECT * FROM sessions FINAL WHERE token_hash = {h:String}`, { h: hash });
    authCache().delete(`s:${hash}`);
    if (!rows[0]) return;
    await insertRows(this.writer, "sessions", [{ ...rows[0], revoked: 1, version: nextVersion() }], { comment: "sessions:revoke" });
  }

  /** Signs a user out everywhere (disabled, deleted, password changed). */
  async revokeAllFor(userId: string): Promise<void> {
    const rows = await queryRows<SessionRow>(this.reader, "sessions:byUser", `SELECT * FROM sessions FINAL WHERE user_id = {u:String} AND revoked = 0`, { u: userId });
    authCache().clear();
    if (rows.length === 0) return;
    await insertRows(this.writer, "sessions", rows.map((r) => ({ ...r, revoked: 1, version: nextVersion() })), { comment: "sessions:revokeAll" });
  }
}
