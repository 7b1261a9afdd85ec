/**
 * SSF streams (lib/store/migrations/031_ssf.sql): what an admin configures per transmitter,
 * and each stream's status as read from what it received.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { randomToken, sameSecret, sha256Hex } from "../auth/crypto";
import { currentKeyId, open, seal, sealedWith } from "../auth/secret-box";
import { REVOCATION_SCOPES } from "../events/schema";
import { insertRows, queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { lastVerifications } from "./verification";

/**
 * Maps a SET's subject to a Revenant id (README.md, "Subject rules"). Rules are tried in
 * order; the first whose event and format match and whose path names a non-empty string wins.
 */
export const subjectRule = z.object({
  /** session-revoked, credential-change, or * (any). */
  event: z.enum(["session-revoked", "credential-change", "*"]).default("*"),
  /** The sub_id format it applies to (iss_sub, email, opaque, jwt_id, complex, …); absent: any. */
  format: z.string().min(1).max(64).optional(),
  /** Dot path inside sub_id: "session.id", "user.email", "jti", "id", "sub". */
  path: z.string().min(1).max(128).regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, "a dot path such as session.id"),
  /** The revocation scope; default session for session-revoked, credential for credential-change. */
  scope: z.enum(REVOCATION_SCOPES).optional(),
  /** Put before the value: "okta:" turns "00u1" into "okta:00u1". */
  prefix: z.string().max(128).default(""),
});
export type SubjectRule = z.infer<typeof subjectRule>;

const streamFields = {
  name: z.string().trim().min(1).max(128),
  issuer: z.string().url().max(2048),
  audience: z.string().min(1).max(512),
  delivery: z.enum(["push", "poll"]),
  poll_url: z.string().url().max(2048),
  poll_token: z.string().min(1).max(4096),
  subject_rules: z.array(subjectRule).max(50),
  enabled: z.boolean(),
  /** The stream's id at the transmitter: what a verification request names (lib/ssf/verification.ts). */
  transmitter_stream_id: z.string().min(1).max(256),
  /** Bearer token for the transmitter's management API (its verification endpoint); never returned. */
  transmitter_token: z.string().min(1).max(4096),
};

export const streamInput = z
  .object({
    ...streamFields,
    poll_url: streamFields.poll_url.optional(),
    poll_token: streamFields.poll_token.optional(),
    transmitter_stream_id: streamFields.transmitter_stream_id.optional(),
    transmitter_token: streamFields.transmitter_token.optional(),
    subject_rules: streamFields.subject_rules.default([]),
    enabled: streamFields.enabled.default(true),
  })
  .superRefine((s, ctx) => {
    if (s.delivery === "poll" && !s.poll_url) ctx.addIssue({ code: "custom", path: ["poll_url"], message: "required for poll delivery" });
  });
export type StreamInput = z.input<typeof streamInput>;

/**
 * A change to a stream (PATCH): any of its settings, none required, nothing else. The result
 * must still be a valid stream (poll delivery needs a poll_url). rotate_push_token: a new push
 * token replaces the old one at once (a leaked token); switching to push delivery gets one too.
 */
export const streamPatch = z
  .object({ ...streamFields, rotate_push_token: z.literal(true) })
  .partial()
  .strict()
  .refine((c) => Object.keys(c).length > 0, { message: "nothing to change" });
export type StreamPatch = z.input<typeof streamPatch>;

export interface Stream {
  id: string;
  name: string;
  issuer: string;
  audience: string;
  delivery: "push" | "poll";
  poll_url: string;
  subject_rules: SubjectRule[];
  enabled: boolean;
  /** '' when not set: verification cannot be requested. */
  transmitter_stream_id: string;
  created_at: string;
  created_by: string;
}

/**
 * A stored stream. The two tokens Revenant sends to the transmitter are kept sealed
 * (lib/auth/secret-box.ts, like webhook signing secrets): it must read them back, so they
 * cannot be hashed like the push token, which it only compares.
 */
interface StreamRow extends Omit<Stream, "subject_rules"> {
  subject_rules: string;
  poll_token: string;
  transmitter_token: string;
  push_token_hash: string;
  deleted: boolean;
  version: number;
}

export interface StreamStatus {
  sets_accepted: number;
  last_event_at: string | null;
  /** The last verification event received, requested or not. */
  last_verified_at: string | null;
  /** The last verification Revenant requested, and when the event carrying its state arrived (null: not yet). */
  verification: { requested_at: string; answered_at: string | null } | null;
  last_error: string | null;
  last_error_at: string | null;
}

/** A token as stored: sealed, or '' when not set. */
const sealToken = (token: string | undefined) => (token ? seal(token) : "");
/**
 * Stands in, while a change is validated (update), for a stored token the change leaves alone:
 * that token is then kept sealed as it is, never opened, so a stream whose tokens were sealed
 * with a key no longer configured can still be changed (given new tokens), paused or deleted.
 */
const KEPT_TOKEN = "\u0000kept";

const toStream = ({ subject_rules, poll_token: _p, transmitter_token: _t, push_token_hash: _h, deleted: _d, version: _v, ...rest }: StreamRow): Stream => ({
  ...rest,
  subject_rules: JSON.parse(subject_rules || "[]"),
});

export const PUSH_TOKEN_PREFIX = "ssfp_";

/** Where a push-delivery stream's transmitter posts its SETs (app/api/v1/ssf/streams/[id]/push/route.ts). */
export const pushPath = (id: string, delivery: string) => (delivery === "push" ? `/api/v1/ssf/streams/${id}/push` : null);

export class StreamStore {
  constructor(
    private readonly reader: ClickHouseClient,
    private readonly writer: ClickHouseClient,
  ) {}

  /** Returns the stream and, for push delivery, the bearer token the transmitter must send (shown once). */
  async create(input: StreamInput, createdBy: string): Promise<{ stream: Stream; push_token: string | null }> {
    const s = streamInput.parse(input);
    const pushToken = s.delivery === "push" ? PUSH_TOKEN_PREFIX + randomToken() : null;
    const row: StreamRow = {
      id: randomUUID(),
      name: s.name,
      issuer: s.issuer.replace(/\/$/, ""),
      audience: s.audience,
      delivery: s.delivery,
      poll_url: s.poll_url ?? "",
      poll_token: sealToken(s.poll_token),
      transmitter_stream_id: s.transmitter_stream_id ?? "",
      transmitter_token: sealToken(s.transmitter_token),
      push_token_hash: pushToken ? sha256Hex(pushToken) : "",
      subject_rules: JSON.stringify(s.subject_rules),
      enabled: s.enabled,
      deleted: false,
      created_at: new Date().toISOString(),
      created_by: createdBy,
      version: nextVersion(),
    };
    await this.write(row);
    return { stream: toStream(row), push_token: pushToken };
  }

  async list(): Promise<Stream[]> {
    const rows = await queryRows<StreamRow>(this.reader, "ssf:streams", "SELECT * FROM ssf_streams FINAL WHERE NOT deleted ORDER BY created_at");
    return rows.map(toStream);
  }

  async get(id: string): Promise<Stream | null> {
    const row = await this.row(id);
    return row ? toStream(row) : null;
  }

  /** The poll token, for the poller only. */
  async pollToken(id: string): Promise<string> {
    return open((await this.row(id))?.poll_token ?? "");
  }

  /** The transmitter's management token, for verification requests only ('' when not set). */
  async transmitterToken(id: string): Promise<string> {
    return open((await this.row(id))?.transmitter_token ?? "");
  }

  async pushTokenMatches(id: string, token: string): Promise<boolean> {
    const row = await this.row(id);
    return !!row?.push_token_hash && sameSecret(sha256Hex(token), row.push_token_hash);
  }

  /**
   * Applies a change; null when the stream does not exist. Returns the new push token when one
   * was made (delivery switched to push, or rotate_push_token): shown this once, like at creation.
   * beforeWrite runs once the changed stream is known to be valid, before it is stored (the
   * audit row of an admin change is written first, and only for a change that is made).
   */
  async update(id: string, patch: StreamPatch, beforeWrite: () => Promise<void> = async () => {}): Promise<{ stream: Stream; push_token: string | null } | null> {
    const row = await this.row(id);
    if (!row) return null;
    const { rotate_push_token: rotate, ...change } = streamPatch.parse(patch);
    const current = toStream(row);
    const merged = streamInput.parse({
      name: current.name,
      issuer: current.issuer,
      audience: current.audience,
      delivery: current.delivery,
      poll_url: current.poll_url || undefined,
      poll_token: row.poll_token ? KEPT_TOKEN : undefined,
      transmitter_stream_id: row.transmitter_stream_id || undefined,
      transmitter_token: row.transmitter_token ? KEPT_TOKEN : undefined,
      subject_rules: current.subject_rules,
      enabled: current.enabled,
      ...change,
    });
    const pushToken = merged.delivery === "push" && (rotate || !row.push_token_hash) ? PUSH_TOKEN_PREFIX + randomToken() : null;
    const next: StreamRow = {
      ...row,
      name: merged.name,
      issuer: merged.issuer.replace(/\/$/, ""),
      audience: merged.audience,
      delivery: merged.delivery,
      poll_url: merged.poll_url ?? "",
      poll_token: merged.poll_token === KEPT_TOKEN ? row.poll_token : sealToken(merged.poll_token),
      transmitter_stream_id: merged.transmitter_stream_id ?? "",
      transmitter_token: merged.transmitter_token === KEPT_TOKEN ? row.transmitter_token : sealToken(merged.transmitter_token),
      push_token_hash: merged.delivery === "push" ? (pushToken ? sha256Hex(pushToken) : row.push_token_hash) : "",
      subject_rules: JSON.stringify(merged.subject_rules),
      enabled: merged.enabled,
      version: nextVersion(),
    };
    await beforeWrite();
    await this.write(next);
    return { stream: toStream(next), push_token: pushToken };
  }

  async delete(id: string): Promise<boolean> {
    const row = await this.row(id);
    if (!row) return false;
    await this.write({ ...row, deleted: true, enabled: false, version: nextVersion() });
    return true;
  }

  async status(ids: string[]): Promise<Map<string, StreamStatus>> {
    // Side by side: the reader is a pool of sessions.
    const [sets, errors, verifications] = await Promise.all([
      queryRows<{ stream_id: string; n: string; last: string | null; verified: string | null }>(this.reader, "ssf:status",
        `SELECT stream_id, count() AS n, max(received_at) AS last, maxIf(received_at, outcome = 'verification') AS verified
         FROM ssf_sets FINAL WHERE stream_id IN {ids:Array(String)} GROUP BY stream_id`, { ids }),
      queryRows<{ stream_id: string; message: string; last_at: string }>(this.reader, "ssf:errors",
        `SELECT stream_id, argMax(message, at) AS message, max(at) AS last_at FROM ssf_stream_log
         WHERE stream_id IN {ids:Array(String)} AND kind = 'error' GROUP BY stream_id`, { ids }),
      lastVerifications(this.reader, ids),
    ]);
    const out = new Map<string, StreamStatus>();
    for (const id of ids) {
      out.set(id, { sets_accepted: 0, last_event_at: null, last_verified_at: null, verification: verifications.get(id) ?? null, last_error: null, last_error_at: null });
    }
    for (const s of sets) {
      const st = out.get(s.stream_id)!;
      st.sets_accepted = Number(s.n);
      st.last_event_at = s.last;
      st.last_verified_at = s.verified && !s.verified.startsWith("1970") ? s.verified : null;
    }
    for (const e of errors) Object.assign(out.get(e.stream_id)!, { last_error: e.message, last_error_at: e.last_at });
    return out;
  }

  async logError(streamId: string, message: string): Promise<void> {
    await insertRows(this.writer, "ssf_stream_log", [{ stream_id: streamId, kind: "error", message: message.slice(0, 1000) }], { comment: "ssf:log" });
  }

  /**
   * Seals every token not sealed with the current key (plain text, or the previous key after a
   * rotation: scripts/rotate-secrets.ts). Returns how many streams were rewritten.
   */
  async reseal(): Promise<number> {
    const current = currentKeyId();
    if (!current) return 0;
    const rows = await queryRows<StreamRow>(this.reader, "ssf:streams:stored", "SELECT * FROM ssf_streams FINAL WHERE NOT deleted");
    const stale = (row: StreamRow) => [row.poll_token, row.transmitter_token].some((t) => t !== "" && sealedWith(t) !== current);
    const rewritten = rows.filter(stale);
    for (const row of rewritten) {
      await this.write({ ...row, poll_token: sealToken(open(row.poll_token)), transmitter_token: sealToken(open(row.transmitter_token)), version: nextVersion() });
    }
    return rewritten.length;
  }

  private async row(id: string): Promise<StreamRow | null> {
    const rows = await queryRows<StreamRow>(this.reader, "ssf:stream", "SELECT * FROM ssf_streams FINAL WHERE id = {id:String} AND NOT deleted", { id });
    return rows[0] ?? null;
  }

  private async write(row: StreamRow): Promise<void> {
    await insertRows(this.writer, "ssf_streams", [row], { comment: "ssf:write" });
  }
}
