/**
 * The coverage table (lib/store/migrations/020_coverage.sql): which keys each revocation
 * covers, with its window. Read by key for every stored batch, rewritten per revocation when
 * its window or covered set changes.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import type { CoverageEntry, KeyKind } from "./matcher";
import type { RevocationState } from "./state";

const COLUMNS = `key_kind, key, revocation_id, via, scope, subject, cascade, revoked_at, reinstated_at, generation`;

/** The coverage rows of the given keys (one primary-key lookup per kind). */
export async function lookupCoverage(client: ClickHouseClient, keys: Record<KeyKind, string[]>): Promise<CoverageEntry[]> {
  const kinds = (Object.keys(keys) as KeyKind[]).filter((k) => keys[k].length > 0);
  if (kinds.length === 0) return [];
  const where = kinds.map((k) => `(key_kind = '${k}' AND key IN {${k}:Array(String)})`).join(" OR ");
  return queryRows<CoverageEntry>(client, "detection:coverage:lookup", `SELECT ${COLUMNS} FROM coverage FINAL WHERE ${where}`, keys);
}

/** Every coverage row of the given revocations (the table is small: one row per covered key). */
export async function coverageOf(client: ClickHouseClient, revocationIds: string[]): Promise<CoverageEntry[]> {
  if (revocationIds.length === 0) return [];
  return queryRows<CoverageEntry>(
    client,
    "detection:coverage:byRevocation",
    `SELECT ${COLUMNS} FROM coverage FINAL WHERE revocation_id IN {ids:Array(String)}`,
    { ids: revocationIds },
  );
}

export async function anyCoverage(client: ClickHouseClient): Promise<boolean> {
  const rows = await queryRows<{ n: number }>(client, "detection:coverage:any", `SELECT count() AS n FROM (SELECT 1 FROM coverage LIMIT 1)`);
  return Number(rows[0]?.n ?? 0) > 0;
}

/**
 * A revocation's covered credentials (docs/SEMANTICS.md points 3–4): the root set from
 * credential_presence (or the subject itself for scope credential), plus, when cascading,
 * every descendant through credential_lineage, breadth first, any depth; a credential
 * already covered is never visited twice, which also ends cycles.
 */
export async function coveredCredentials(client: ClickHouseClient, rev: Pick<RevocationState, "scope" | "subject" | "cascade">): Promise<Set<string>> {
  const covered = new Set<string>();
  if (rev.scope === "credential") covered.add(rev.subject);
  else {
    const roots = await queryRows<{ credential_id: string }>(
      client,
      "detection:rootSet",
      `SELECT DISTINCT credential_id FROM credential_presence WHERE owner_kind = {kind:String} AND owner_id = {subject:String}`,
      { kind: rev.scope, subject: rev.subject },
    );
    for (const r of roots) covered.add(r.credential_id);
  }
  if (!rev.cascade) return covered;
  let frontier = [...covered];
  while (frontier.length) {
    const children = await queryRows<{ credential_id: string }>(
      client,
      "detection:lineage",
      `SELECT DISTINCT credential_id FROM credential_lineage WHERE parent_id IN {parents:Array(String)}`,
      { parents: frontier },
    );
    frontier = children.map((c) => c.credential_id).filter((c) => !covered.has(c));
    for (const c of frontier) covered.add(c);
  }
  return covered;
}

/** The coverage rows of one revocation in one generation. */
export function coverageRows(state: RevocationState, covered: Set<string>): CoverageEntry[] {
  const base = {
    revocation_id: state.revocation_id,
    scope: state.scope,
    subject: state.subject,
    cascade: state.cascade,
    revoked_at: state.revoked_at,
    reinstated_at: state.reinstated_at,
    generation: state.write_generation,
  };
  const rows: CoverageEntry[] = [{ ...base, key_kind: state.scope, key: state.subject, via: "direct" }];
  for (const credential of covered) {
    // Scope credential: its subject is already the direct row (same key).
    if (state.scope === "credential" && credential === state.subject) continue;
    rows.push({ ...base, key_kind: "credential", key: credential, via: "cascade" });
  }
  return rows;
}

export async function writeCoverage(client: ClickHouseClient, rows: CoverageEntry[]): Promise<void> {
  if (rows.length === 0) return;
  const version = nextVersion();
  await client.insert({
    table: "coverage",
    values: rows.map((r) => ({ ...r, version })),
    format: "JSONEachRow",
    clickhouse_settings: { log_comment: "detection:coverage:write", async_insert: 0 },
  });
}
