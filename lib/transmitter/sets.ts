/**
 * The SET outbox (table transmitter_sets): Security Event Tokens, signed once when their cause is
 * recorded, one row per (stream, jti), then moved on by push attempts or poll acks.
 *
 * Causes: every credential a revocation newly covers gives a CAEP credential-change (change_type
 * revoke); a revocation of scope session gives a CAEP session-revoked (whether or not its
 * session ever presented a credential: enqueueSessions); `txn` is the
 * revocation's event id, linking every SET one revocation caused. The jti is derived from
 * (stream, txn, event type, subject), and a SET whose jti the stream already has is not made
 * again, so repeated coverage publishes (a retried batch, a reinstatement dated ahead coming
 * due) never repeat a SET. At start, catchUp() records what a crash lost between a coverage
 * write and its SETs.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { SignJWT, type JWTPayload } from "jose";
import { createHash } from "node:crypto";
import type { SessionRevocation } from "../detection/engine";
import type { CredentialStatus } from "../feed/status";
import { insertRows, queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { SET_ALG, type SigningKeys } from "./keys";
import { CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED, SSF_VERIFICATION, type Stream, type StreamStore } from "./streams";

export type SetState = "pending" | "delivered" | "acked" | "failed";

export interface SetRow {
  stream_id: string;
  jti: string;
  txn: string;
  event_type: string;
  subject: string;
  set_jwt: string;
  created_at: string;
  state: SetState;
  attempts: number;
  next_attempt_at: string;
  /** When it was first pushed (null until then, and for poll streams): its retry window starts there. */
  first_attempt_at: string | null;
  delivered_at: string | null;
  last_status_code: number | null;
  last_error: string;
}

interface Cause {
  txn: string;
  type: string;
  subject: string;
  /** When it happened at the source (seconds since the epoch in the SET). */
  at: string;
  event: Record<string, unknown>;
}

export const jtiFor = (streamId: string, c: Pick<Cause, "txn" | "type" | "subject">) =>
  createHash("sha256").update(`${streamId}\0${c.txn}\0${c.type}\0${c.subject}`).digest("hex").slice(0, 32);

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

const sessionCause = (txn: string, session: string, since: string): Cause => ({
  txn, type: CAEP_SESSION_REVOKED, subject: session, at: since, event: { event_timestamp: seconds(since), initiating_entity: "policy" },
});

/** A credential-change (revoke) for a credential a revocation covers since `since`. */
const credentialCause = (txn: string, credentialId: string, since: string): Cause => ({
  txn, type: CAEP_CREDENTIAL_CHANGE, subject: credentialId, at: since,
  // credential_type: CAEP lets transmitter and receiver agree on values beyond its list;
  // Revenant's credentials are bearer tokens, keys and SVIDs of agents.
  event: { credential_type: "token", change_type: "revoke", event_timestamp: seconds(since), initiating_entity: "policy" },
});

/** SETs recorded per round of the start-up catch-up (each is signed: bounded work per round). */
const CATCH_UP_CHUNK = 1000;

/** The causes a set of credential statuses gives: per covering revocation, the credential, and the session of a session revocation. */
export function causesOf(statuses: CredentialStatus[]): Cause[] {
  const out = new Map<string, Cause>();
  for (const s of statuses) {
    if (!s.covered) continue;
    for (const r of s.revocations) {
      const credential = credentialCause(r.event_id, s.credential_id, r.since);
      out.set(`${credential.txn}\0${credential.type}\0${credential.subject}`, credential);
      if (r.scope === "session") {
        const session = sessionCause(r.event_id, r.subject, r.since);
        out.set(`${session.txn}\0${session.type}\0${session.subject}`, session);
      }
    }
  }
  return [...out.values()];
}

/** Whether the stream wants the cause: its event type was requested and its subject was not removed (default_subjects "ALL"). */
const wants = (stream: Stream, c: Cause) => stream.events_requested.includes(c.type) && !stream.excluded_subjects.includes(c.subject);

export class SetOutbox {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly streams: StreamStore,
    private readonly keys: SigningKeys,
    private readonly issuer: string,
  ) {}

  /**
   * Records the SETs the statuses give for every stream that wants them (called inside the
   * batch). A paused stream's SETs are recorded and held until it is enabled again; a disabled
   * stream gets none (SSF 1.0 stream status).
   */
  async enqueueCoverage(statuses: CredentialStatus[]): Promise<number> {
    return this.enqueue(causesOf(statuses));
  }

  /**
   * Records a session-revoked SET per session revocation in force, also for a session that
   * never presented a credential (enqueueCoverage finds sessions through their credentials
   * only). The jti is the one enqueueCoverage would give: a session told both ways gets one SET.
   */
  async enqueueSessions(sessions: SessionRevocation[]): Promise<number> {
    return this.enqueue(sessions.map((r) => sessionCause(r.revocation_id, r.subject, r.revoked_at)));
  }

  private async enqueue(causes: Cause[]): Promise<number> {
    if (causes.length === 0) return 0;
    const streams = (await this.streams.list()).filter((s) => s.status !== "disabled");
    const wanted = streams.flatMap((stream) => causes.filter((c) => wants(stream, c)).map((c) => ({ stream, cause: c, jti: jtiFor(stream.stream_id, c) })));
    return this.record(wanted);
  }

  /**
   * Start-up catch-up: records, for every stream that wants credential-changes, the SETs it
   * lacks for credentials covered now whose coverage row was written after the stream was last
   * changed (created, enabled, its subjects or events changed: what it wanted since then is
   * known). The live path records them in the batch that wrote the coverage (enqueueCoverage);
   * a crash between a coverage write that grows a revocation's covered set (a delegated
   * credential issued after the revocation) and that recording would lose them for good, as the
   * batch's retry finds the set grown already and publishes nothing. One read for all streams.
   * A SET recorded here and by a batch at once (another worker, a reinstatement coming due) is
   * one SET: the same jti, and a recording never overrides what happened to it since (record()).
   * Returns how many it recorded.
   */
  async catchUp(): Promise<number> {
    const streams = new Map(
      (await this.streams.list())
        .filter((s) => s.status !== "disabled" && s.events_requested.includes(CAEP_CREDENTIAL_CHANGE))
        .map((s) => [s.stream_id, s]),
    );
    if (streams.size === 0) return 0;
    const missing = await queryRows<{ stream_id: string; key: string; revocation_id: string; revoked_at: string }>(
      this.client,
      "ssf:sets:catch-up",
      // Coverage versions are microseconds since the epoch (lib/store/version.ts). A row rewritten
      // since (a window moved) counts from its rewrite, which only ever tells a stream more.
      `SELECT s.stream_id AS stream_id, c.key AS key, c.revocation_id AS revocation_id, c.revoked_at AS revoked_at
       FROM (SELECT key, revocation_id, revoked_at, version FROM coverage FINAL
             WHERE key_kind = 'credential' AND (reinstated_at IS NULL OR reinstated_at > now64(3))) AS c
       CROSS JOIN (SELECT stream_id, toUnixTimestamp64Milli(changed_at) * 1000 AS since FROM transmitter_streams FINAL
                   WHERE stream_id IN {streams:Array(String)}) AS s
       WHERE c.version >= s.since
         AND (s.stream_id, c.revocation_id, c.key) NOT IN (
           SELECT stream_id, txn, subject FROM transmitter_sets WHERE stream_id IN {streams:Array(String)} AND event_type = {type:String})
       ORDER BY stream_id, revocation_id, key`,
      { streams: [...streams.keys()], type: CAEP_CREDENTIAL_CHANGE },
    );
    const wanted = missing
      .map((r) => ({ stream: streams.get(r.stream_id)!, cause: credentialCause(r.revocation_id, r.key, r.revoked_at) }))
      .filter(({ stream, cause }) => wants(stream, cause))
      .map(({ stream, cause }) => ({ stream, cause, jti: jtiFor(stream.stream_id, cause) }));
    let recorded = 0;
    for (let i = 0; i < wanted.length; i += CATCH_UP_CHUNK) recorded += await this.record(wanted.slice(i, i + CATCH_UP_CHUNK));
    return recorded;
  }

  /** SSF verification: one SET carrying the receiver's `state`, to the stream however it is delivered. */
  async enqueueVerification(stream: Stream, state: string | undefined): Promise<string> {
    const cause: Cause = { txn: `verification-${Date.now()}-${Math.random().toString(36).slice(2)}`, type: SSF_VERIFICATION, subject: stream.stream_id, at: new Date().toISOString(), event: state ? { state } : {} };
    const jti = jtiFor(stream.stream_id, cause);
    await this.record([{ stream, cause, jti }]);
    return jti;
  }

  async sign(stream: Stream, cause: Cause, jti: string): Promise<string> {
    const { kid, key } = await this.keys.current();
    const payload: JWTPayload & Record<string, unknown> = {
      jti,
      txn: cause.txn,
      sub_id: cause.type === SSF_VERIFICATION ? { format: "opaque", id: stream.stream_id } : { format: "opaque", id: cause.subject },
      events: { [cause.type]: cause.event },
    };
    return new SignJWT(payload).setProtectedHeader({ alg: SET_ALG, kid, typ: "secevent+jwt" }).setIssuer(this.issuer).setAudience(stream.aud).setIssuedAt().sign(key);
  }

  private async record(wanted: { stream: Stream; cause: Cause; jti: string }[]): Promise<number> {
    if (wanted.length === 0) return 0;
    const existing = new Set(
      (await queryRows<{ jti: string }>(this.client, "ssf:sets:existing", `SELECT jti FROM transmitter_sets WHERE stream_id IN {streams:Array(String)} AND jti IN {jtis:Array(String)}`, {
        streams: [...new Set(wanted.map((w) => w.stream.stream_id))],
        jtis: wanted.map((w) => w.jti),
      })).map((r) => r.jti),
    );
    const now = new Date().toISOString();
    const rows: SetRow[] = [];
    for (const w of wanted) {
      if (existing.has(w.jti)) continue;
      existing.add(w.jti);
      rows.push({
        stream_id: w.stream.stream_id, jti: w.jti, txn: w.cause.txn, event_type: w.cause.type, subject: w.cause.subject,
        set_jwt: await this.sign(w.stream, w.cause, w.jti), created_at: now, state: "pending", attempts: 0, next_attempt_at: now,
        first_attempt_at: null, delivered_at: null, last_status_code: null, last_error: "",
      });
    }
    // Version 0: every later change of a SET (an attempt, a delivery, an ack: put) has a higher
    // one, so a second recording of the same jti (two recorders racing past the check above)
    // never sends a delivered SET back to pending.
    await insertRows(this.client, "transmitter_sets", rows.map((r) => ({ ...r, version: 0 })), { comment: "ssf:sets:record" });
    return rows.length;
  }

  async put(rows: SetRow[]): Promise<void> {
    const version = nextVersion();
    await insertRows(this.client, "transmitter_sets", rows.map((r) => ({ ...r, version })), { comment: "ssf:sets:put" });
  }

  /** Pending SETs of the given streams, oldest first; `due` keeps only those whose next attempt is due. */
  async pending(streamIds: string[], limit: number, due = false): Promise<SetRow[]> {
    if (streamIds.length === 0) return [];
    return queryRows<SetRow>(
      this.client,
      "ssf:sets:pending",
      `SELECT * EXCEPT version FROM transmitter_sets FINAL
       WHERE stream_id IN {streams:Array(String)} AND state = 'pending' ${due ? "AND next_attempt_at <= now64(3)" : ""}
       ORDER BY created_at, jti LIMIT {limit:UInt32}`,
      { streams: streamIds, limit },
    );
  }

  async byJti(streamId: string, jtis: string[]): Promise<SetRow[]> {
    if (jtis.length === 0) return [];
    return queryRows<SetRow>(this.client, "ssf:sets:byJti", `SELECT * EXCEPT version FROM transmitter_sets FINAL WHERE stream_id = {s:String} AND jti IN {jtis:Array(String)}`, { s: streamId, jtis });
  }

  /** Every SET of a revocation (txn), for the UI and tests. */
  async ofTxn(txn: string): Promise<SetRow[]> {
    return queryRows<SetRow>(this.client, "ssf:sets:txn", `SELECT * EXCEPT version FROM transmitter_sets FINAL WHERE txn = {txn:String} ORDER BY stream_id, created_at, jti`, { txn });
  }
}
