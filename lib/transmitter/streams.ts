/**
 * Receivers' streams (SSF 1.0 stream management; table transmitter_streams). An admin registers each
 * receiver: its audience, the event types it wants, push (RFC 8935: Revenant POSTs each SET to
 * the receiver's URL) or poll (RFC 8936: the receiver POSTs to Revenant's poll URL with the
 * stream's token, shown once), and the subjects removed from it (every other one is included).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { currentKeyId, open, seal, sealedWith } from "../auth/secret-box";
import { insertRows, queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { transmitterSignals } from "./signals";

export const PUSH = "urn:ietf:rfc:8935";
export const POLL = "urn:ietf:rfc:8936";
export const CAEP_CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
export const CAEP_SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
export const SSF_VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification";
export const EVENTS_SUPPORTED = [CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED, SSF_VERIFICATION];

export type StreamStatus = "enabled" | "paused" | "disabled";

export interface Stream {
  stream_id: string;
  aud: string;
  description: string;
  /** The enforcement layer this receiver is (docs/EVENTS.md layers); empty: not said. */
  layer: string;
  events_requested: string[];
  delivery_method: string;
  endpoint_url: string;
  authorization_header: string;
  poll_token_hash: string;
  status: StreamStatus;
  status_reason: string;
  /** Subjects added (SSF Add Subject), for the record: every subject not excluded is included. */
  subjects: string[];
  /** Subjects removed (SSF Remove Subject): no SETs about them until they are added again. */
  excluded_subjects: string[];
  created_at: string;
  /** When it was last changed (every put but a reseal): see lib/store/migrations/126_transmitter_stream_changed_at.sql. */
  changed_at: string;
  deleted: number;
}

export const streamInput = z
  .object({
    aud: z.string().min(1).max(512),
    description: z.string().max(512).default(""),
    layer: z.string().max(64).default(""),
    events_requested: z.array(z.string()).min(1).default(EVENTS_SUPPORTED),
    delivery: z.object({
      method: z.enum([PUSH, POLL]),
      endpoint_url: z.string().url().max(2048).optional(),
      authorization_header: z.string().max(4096).optional(),
    }),
  })
  .refine((s) => s.delivery.method !== PUSH || !!s.delivery.endpoint_url, { message: "push delivery needs an endpoint_url", path: ["delivery", "endpoint_url"] });
export type StreamInput = z.infer<typeof streamInput>;

const hash = (token: string) => createHash("sha256").update(token).digest("hex");

/** The stream as SSF 1.0 shows it to its receiver; secrets never leave. */
export function streamConfiguration(s: Stream, issuer: string) {
  return {
    stream_id: s.stream_id,
    iss: issuer,
    aud: s.aud,
    description: s.description,
    layer: s.layer,
    events_supported: EVENTS_SUPPORTED,
    events_requested: s.events_requested,
    events_delivered: s.events_requested.filter((e) => EVENTS_SUPPORTED.includes(e)),
    delivery: { method: s.delivery_method, endpoint_url: s.delivery_method === POLL ? `${issuer}/ssf/poll/${s.stream_id}` : s.endpoint_url },
    status: s.status,
    subjects: s.subjects,
    excluded_subjects: s.excluded_subjects,
  };
}

export class StreamStore {
  constructor(private readonly client: ClickHouseClient) {}

  async list(): Promise<Stream[]> {
    return queryRows<Stream>(this.client, "ssf:streams", `SELECT * EXCEPT version FROM transmitter_streams FINAL WHERE deleted = 0 ORDER BY created_at, stream_id`);
  }

  async get(id: string): Promise<Stream | null> {
    const rows = await queryRows<Stream>(this.client, "ssf:stream", `SELECT * EXCEPT version FROM transmitter_streams FINAL WHERE stream_id = {id:String} AND deleted = 0`, { id });
    return rows[0] ?? null;
  }

  /** Creates a stream; a poll stream's token is returned this once. */
  async create(input: StreamInput): Promise<{ stream: Stream; pollToken: string | null }> {
    const pollToken = input.delivery.method === POLL ? `rvs_${randomBytes(32).toString("base64url")}` : null;
    const stream: Stream = {
      stream_id: randomUUID(),
      aud: input.aud,
      description: input.description,
      layer: input.layer,
      events_requested: input.events_requested,
      delivery_method: input.delivery.method,
      endpoint_url: input.delivery.method === PUSH ? input.delivery.endpoint_url! : "",
      // Sealed at rest like the other outbound tokens (lib/auth/secret-box.ts); opened only to push.
      authorization_header: input.delivery.authorization_header ? seal(input.delivery.authorization_header) : "",
      poll_token_hash: pollToken ? hash(pollToken) : "",
      status: "enabled",
      status_reason: "",
      subjects: [],
      excluded_subjects: [],
      created_at: new Date().toISOString(),
      changed_at: new Date().toISOString(),
      deleted: 0,
    };
    await this.put(stream);
    return { stream, pollToken };
  }

  /**
   * Writes a stream's new version; it counts as changed (changed_at) unless `secretOnly` (a
   * reseal: what it receives and how long its SETs are retried do not change with the key its
   * header is sealed under). Every thread's signing keys hear of it (a re-enabled stream's held
   * SETs need their keys in the JWKS again at once).
   */
  async put(stream: Stream, { secretOnly = false } = {}): Promise<void> {
    const changedAt = secretOnly ? stream.changed_at : new Date().toISOString();
    await insertRows(this.client, "transmitter_streams", [{ ...stream, changed_at: changedAt, version: nextVersion() }], { comment: "ssf:streams:put" });
    transmitterSignals().announce("streams-changed");
  }

  async delete(stream: Stream): Promise<void> {
    await this.put({ ...stream, deleted: 1 });
  }

  /**
   * Seals every push authorization header not sealed with the current key (plain text stored
   * before a key was set, or the previous key after a rotation: scripts/rotate-secrets.ts).
   * Returns how many streams were rewritten.
   */
  async reseal(): Promise<number> {
    const current = currentKeyId();
    if (!current) return 0;
    const stale = (await this.list()).filter((s) => s.authorization_header !== "" && sealedWith(s.authorization_header) !== current);
    for (const s of stale) await this.put({ ...s, authorization_header: seal(open(s.authorization_header)) }, { secretOnly: true });
    return stale.length;
  }

  /** Whether `token` is the poll token of the stream (constant-time comparison of hashes). */
  static pollTokenMatches(stream: Stream, token: string): boolean {
    if (!stream.poll_token_hash) return false;
    const a = Buffer.from(hash(token), "hex");
    const b = Buffer.from(stream.poll_token_hash, "hex");
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
