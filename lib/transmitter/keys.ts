/**
 * The transmitter's signing keys (table transmitter_keys, lib/store/migrations/060_ssf.sql). A
 * key signs for REVENANT_SSF_KEY_ROTATION_HOURS; its successor is published ten minutes before
 * it takes over (current()). The
 * JWKS keeps a key for one rotation period plus the push retry window after a newer one
 * replaced it, so a SET signed just before a rotation still verifies when its last retry
 * arrives, and for as long as a SET it may have signed is still pending for a stream that is
 * neither deleted nor disabled: a poll receiver that takes its SETs late, or a paused stream's
 * held SETs, must still be able to verify them.
 * RS256: the algorithm every SSF receiver supports.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { randomUUID } from "node:crypto";
import { insertRows, queryRows } from "../store/clickhouse";
import { transmitterSignals } from "./signals";

export const SET_ALG = "RS256";

/** How long a new key is in the JWKS before it signs: twice the 5 minutes receivers may cache the JWKS. */
const PUBLISH_AHEAD_MS = 10 * 60_000;

interface KeyRow {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: string;
}

export interface SigningKey {
  kid: string;
  key: CryptoKey;
}

type Heard = "keys-rotated" | "streams-changed";
const heardKey = Symbol.for("revenant.ssf.heard");
type WithHeard = typeof globalThis & { [heardKey]?: Record<Heard, number> };

/**
 * How many times this thread has heard `event` (its own and other threads'): something
 * remembered before the last one is stale. Rotations make the key rows stale; stream writes,
 * the oldest pending SET (a stream enabled again).
 */
function timesHeard(event: Heard): number {
  const g = globalThis as WithHeard;
  if (!g[heardKey]) {
    const counts: Record<Heard, number> = { "keys-rotated": 0, "streams-changed": 0 };
    for (const e of Object.keys(counts) as Heard[]) transmitterSignals().on(e, () => counts[e]++);
    g[heardKey] = counts;
  }
  return g[heardKey]![event];
}

/** How long the oldest pending SET's time is remembered at most (see oldestPendingSet). */
const OLDEST_PENDING_TTL_MS = 5_000;

export class SigningKeys {
  private cache: { rows: KeyRow[]; until: number; rotations: number } | null = null;
  private oldestPending: { at: number | null; until: number; changes: number } | null = null;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly rotationHours: number,
    private readonly retryHours: number,
  ) {}

  /**
   * The key to sign with now. The next key is made PUBLISH_AHEAD_MS before the newest is due for
   * rotation and is in the JWKS from then on, but signs only once it is that old: a receiver
   * that fetched the JWKS just before the rotation (it may cache it, app/ssf/jwks/route.ts)
   * would otherwise get a SET whose kid it cannot know, and a push refused with 400 is not
   * sent again. The very first key signs at once.
   */
  async current(now = Date.now()): Promise<SigningKey> {
    const rotationMs = this.rotationHours * 3_600_000;
    const ahead = Math.min(PUBLISH_AHEAD_MS, rotationMs / 2);
    let rows = await this.rows();
    if (!rows[0] || now - Date.parse(rows[0].created_at) >= rotationMs - ahead) {
      await this.rotate(now);
      rows = await this.rows();
    }
    const signer = rows.find((r) => now - Date.parse(r.created_at) >= ahead) ?? rows[0];
    return { kid: signer.kid, key: (await importJWK(JSON.parse(signer.private_jwk) as JWK, SET_ALG)) as CryptoKey };
  }

  /**
   * The public keys receivers may need: the newest, and older ones while their SETs may still
   * arrive: for the retry window after their successor took over, and while a SET recorded
   * before their successor signed is still pending (a key signs until its successor is
   * PUBLISH_AHEAD_MS old, at most).
   */
  async jwks(now = Date.now()): Promise<{ keys: JWK[] }> {
    const rows = await this.rows();
    const keep = (this.rotationHours + this.retryHours) * 3_600_000;
    const replacedAt = (i: number) => Date.parse(rows[i - 1].created_at);
    const retired = rows.some((_, i) => i > 0 && now - replacedAt(i) >= keep);
    // The outbox is read only when a key is past the retry window: most requests need no read.
    const oldestPending = retired ? await this.oldestPendingSet() : null;
    const mayHaveSignedPending = (i: number) => oldestPending !== null && replacedAt(i) + PUBLISH_AHEAD_MS > oldestPending;
    return {
      keys: rows
        .filter((r, i) => i === 0 || now - replacedAt(i) < keep || mayHaveSignedPending(i))
        .map((r) => ({ ...(JSON.parse(r.public_jwk) as JWK), kid: r.kid, alg: SET_ALG, use: "sig" })),
    };
  }

  async rotate(now = Date.now()): Promise<KeyRow> {
    const { publicKey, privateKey } = await generateKeyPair(SET_ALG, { extractable: true });
    const row: KeyRow = {
      kid: randomUUID(),
      private_jwk: JSON.stringify(await exportJWK(privateKey)),
      public_jwk: JSON.stringify(await exportJWK(publicKey)),
      created_at: new Date(now).toISOString(),
    };
    await insertRows(this.client, "transmitter_keys", [row], { comment: "ssf:keys:rotate" });
    this.cache = null;
    transmitterSignals().announce("keys-rotated");
    return row;
  }

  /**
   * When the oldest SET still waiting for its receiver was recorded (ms), or null when none
   * waits. Only streams that may still take it count: a deleted stream's SETs wait for ever, a
   * disabled one's until it is enabled, and neither may keep every later key listed. Read at
   * most every few seconds (the JWKS is public), and again after any stream of this process
   * changed: a stream enabled again makes its held SETs count at once. (Another process's
   * change is seen within those seconds.)
   */
  private async oldestPendingSet(): Promise<number | null> {
    const changes = timesHeard("streams-changed");
    if (this.oldestPending && this.oldestPending.until > Date.now() && this.oldestPending.changes === changes) return this.oldestPending.at;
    const [row] = await queryRows<{ at: string | number | null }>(
      this.client,
      "ssf:keys:oldest-pending",
      `SELECT toUnixTimestamp64Milli(minOrNull(created_at)) AS at FROM transmitter_sets FINAL
       WHERE state = 'pending'
         AND stream_id IN (SELECT stream_id FROM transmitter_streams FINAL WHERE deleted = 0 AND status != 'disabled')`,
    );
    const at = row?.at === null || row?.at === undefined ? null : Number(row.at);
    this.oldestPending = { at, until: Date.now() + OLDEST_PENDING_TTL_MS, changes };
    return at;
  }

  /** Every key, newest first (a few rows), remembered for a few seconds or until a rotation anywhere in the process. */
  private async rows(): Promise<KeyRow[]> {
    const rotations = timesHeard("keys-rotated");
    if (this.cache && this.cache.until > Date.now() && this.cache.rotations === rotations) return this.cache.rows;
    const rows = await queryRows<KeyRow>(this.client, "ssf:keys", `SELECT kid, private_jwk, public_jwk, created_at FROM transmitter_keys FINAL ORDER BY created_at DESC, kid`);
    // Tagged with the count taken before the read: a rotation heard during it makes this stale at once.
    this.cache = { rows, until: Date.now() + 5_000, rotations };
    return rows;
  }
}
