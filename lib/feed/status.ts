/**
 * Whether a credential is covered right now, read from the coverage table
 * (lib/store/migrations/020_coverage.sql): its rows of key kind `credential` whose revocation
 * window is still open, that is not reinstated, or reinstated at a time still ahead (an event
 * may be dated up to 24 h ahead; detection counts actions up to that time as post-revocation,
 * so the lookup must not let them through meanwhile). One primary-key read serves the status lookup
 * (app/api/v1/credentials/) and the covered-credentials feed (lib/feed/publisher.ts), so an
 * enforcement point sees the same answer on both.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import { queryRows } from "../store/clickhouse";
import { timeBound } from "../store/verbs";

/** Most ids one batch lookup may ask about. */
export const MAX_LOOKUP_IDS = 1000;

export const credentialIdSchema = z.string().min(1).max(256);

export interface CoveringRevocation {
  event_id: string;
  scope: string;
  subject: string;
  /** When the revocation took effect: the credential is covered from then on. */
  since: string;
  /** `direct`: the revoked credential itself; `cascade`: a credential of the subject or a delegated descendant. */
  via: "direct" | "cascade";
}

export interface CredentialStatus {
  credential_id: string;
  covered: boolean;
  revocations: CoveringRevocation[];
}

interface Row {
  key: string;
  revocation_id: string;
  via: "direct" | "cascade";
  scope: string;
  subject: string;
  revoked_at: string;
  reinstated_at: string | null;
}

/**
 * The status of each given credential, in the order asked; an id no revocation covers is
 * `covered: false`. FINAL resolves rewritten coverage to its latest version; the key filter is
 * the table's sort-key prefix, so the read touches only the granules of those keys.
 */
export async function credentialStatuses(client: ClickHouseClient, ids: string[], comment = "feed:status"): Promise<CredentialStatus[]> {
  return (await credentialStatusesUntil(client, ids, comment)).statuses;
}

/**
 * credentialStatuses, and when the earliest of the coverage it found ends (a reinstatement
 * dated ahead; null when none does): the feed republishes those keys then (lib/feed/publisher.ts).
 */
export async function credentialStatusesUntil(
  client: ClickHouseClient,
  ids: string[],
  comment: string,
): Promise<{ statuses: CredentialStatus[]; endsAt: number | null }> {
  const unique = [...new Set(ids)];
  const rows = unique.length
    ? await queryRows<Row>(
        client,
        comment,
        `SELECT key, revocation_id, via, scope, subject, revoked_at, reinstated_at
         FROM coverage FINAL
         WHERE key_kind = 'credential' AND key IN {ids:Array(String)} AND (reinstated_at IS NULL OR reinstated_at > now64(3))
         ORDER BY key, revoked_at, revocation_id`,
        { ids: unique },
      )
    : [];
  const byKey = new Map<string, CoveringRevocation[]>();
  let endsAt: number | null = null;
  for (const r of rows) {
    const list = byKey.get(r.key) ?? [];
    list.push({ event_id: r.revocation_id, scope: r.scope, subject: r.subject, since: r.revoked_at, via: r.via });
    byKey.set(r.key, list);
    if (r.reinstated_at) {
      const end = Date.parse(r.reinstated_at);
      if (endsAt === null || end < endsAt) endsAt = end;
    }
  }
  const statuses = ids.map((id) => {
    const revocations = byKey.get(id) ?? [];
    return { credential_id: id, covered: revocations.length > 0, revocations };
  });
  return { statuses, endsAt };
}

/** The credential keys the given revocations' coverage rows name (covered now or once). */
export async function credentialsOf(client: ClickHouseClient, revocationIds: string[]): Promise<string[]> {
  if (revocationIds.length === 0) return [];
  const rows = await queryRows<{ key: string }>(
    client,
    "feed:credentialsOf",
    `SELECT DISTINCT key FROM coverage WHERE key_kind = 'credential' AND revocation_id IN {ids:Array(String)}`,
    { ids: revocationIds },
  );
  return rows.map((r) => r.key);
}

/** One page of every credential key coverage has ever named, in key order after `after`. */
export async function credentialKeysPage(client: ClickHouseClient, after: string, limit: number): Promise<string[]> {
  const rows = await queryRows<{ key: string }>(
    client,
    "feed:resync",
    `SELECT DISTINCT key FROM coverage WHERE key_kind = 'credential' AND key > {after:String} ORDER BY key LIMIT {limit:UInt32}`,
    { after, limit },
  );
  return rows.map((r) => r.key);
}

/**
 * Credential keys whose coverage by some revocation ended in (from, to]: reinstatements dated
 * ahead that have come due. Without FINAL: a key named by an older version of a row is
 * republished too, which is harmless (a publish re-reads the whole current status).
 */
export async function credentialsEndedBetween(client: ClickHouseClient, from: Date, to: Date): Promise<string[]> {
  const rows = await queryRows<{ key: string }>(
    client,
    "feed:due",
    `SELECT DISTINCT key FROM coverage
     PREWHERE reinstated_at > ${timeBound("from")} AND reinstated_at <= ${timeBound("to")}
     WHERE key_kind = 'credential'`,
    { from: from.toISOString(), to: to.toISOString() },
  );
  return rows.map((r) => r.key);
}

/** When the next coverage of a credential ends after `after` (a reinstatement dated ahead), or null. */
export async function nextCoverageEnd(client: ClickHouseClient, after: Date): Promise<number | null> {
  const [row] = await queryRows<{ at: string | number | null }>(
    client,
    "feed:next-due",
    `SELECT toUnixTimestamp64Milli(min(reinstated_at)) AS at FROM coverage
     PREWHERE reinstated_at > ${timeBound("after")} WHERE key_kind = 'credential'`,
    { after: after.toISOString() },
  );
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}
