/**
 * The coverage table (lib/store/migrations/020_coverage.sql): which keys each revocation
 * covers, with its window. Read by key for every stored batch, rewritten per revocation when
 * its window or covered set changes.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { insertRows, queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import type { CoverageEntry, KeyKind } from "./matcher";
import type { RevocationState } from "./state";

const COLUMNS = `key_kind, key, revocation_id, via, scope, subject, cascade, revoked_at, reinstated_at, generation`;

/** The coverage rows of the given keys (one primary-key lookup per kind). */
export async function lookupCoverage(client: ClickHouseClient, keys: Record<KeyKind, string[]>): Promise<CoverageEntry[]> {
  const kinds = (Object.keys(keys) as KeyKind[]).filter((k) => keys[k].length > 0);
  if (kinds.length === 0) return [];
  const where = kinds.map((k) => `(key_kind = '${k}' AND key IN {${k}:Array(String)})`).join(" OR ");
  // The latest version per row without FINAL: a primary-key lookup (see lib/detection/pairs.ts).
  return queryRows<CoverageEntry>(
    client,
    "detection:coverage:lookup",
    `SELECT ${COLUMNS} FROM coverage WHERE ${where} ORDER BY version DESC LIMIT 1 BY key_kind, key, revocation_id`,
    keys,
  );
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

/** The key kinds any coverage row has (a handful of rows read: the table is ordered by kind). */
export async function coverageKinds(client: ClickHouseClient): Promise<Set<KeyKind>> {
  const rows = await queryRows<{ key_kind: KeyKind }>(client, "detection:coverage:kinds", `SELECT DISTINCT key_kind FROM coverage`);
  return new Set(rows.map((r) => r.key_kind));
}

type CoverageSubject = Pick<RevocationState, "revocation_id" | "scope" | "subject" | "cascade">;

/**
 * The covered credentials of each revocation (docs/SEMANTICS.md points 3–4): the root set from
 * credential_presence (or the subject itself for scope credential), plus, when cascading,
 * every descendant through credential_lineage at any depth. Many revocations at once: one
 * root-set query, then one lineage query per depth level for all of them together; a
 * credential already visited is never asked for twice, which also ends cycles.
 */
export async function coveredCredentials(client: ClickHouseClient, revs: CoverageSubject[]): Promise<Map<string, Set<string>>> {
  const covered = new Map<string, Set<string>>();
  const owners = revs.filter((r) => r.scope !== "credential");
  const presence = owners.length
    ? await queryRows<{ owner_kind: string; owner_id: string; credential_id: string }>(
        client,
        "detection:rootSet",
        `SELECT DISTINCT owner_kind, owner_id, credential_id FROM credential_presence
         WHERE owner_kind IN {kinds:Array(String)} AND owner_id IN {owners:Array(String)}`,
        { kinds: [...new Set(owners.map((r) => r.scope))], owners: [...new Set(owners.map((r) => r.subject))] },
      )
    : [];
  const rootsOf = new Map<string, string[]>();
  for (const p of presence) {
    const key = `${p.owner_kind}\u0000${p.owner_id}`;
    rootsOf.set(key, [...(rootsOf.get(key) ?? []), p.credential_id]);
  }
  for (const r of revs) {
    covered.set(r.revocation_id, new Set(r.scope === "credential" ? [r.subject] : (rootsOf.get(`${r.scope}\u0000${r.subject}`) ?? [])));
  }

  // Children of every credential reachable from a cascading revocation's roots, level by level.
  const children = new Map<string, string[]>();
  const visited = new Set<string>();
  let frontier = [...new Set(revs.filter((r) => r.cascade).flatMap((r) => [...covered.get(r.revocation_id)!]))];
  for (const c of frontier) visited.add(c);
  while (frontier.length) {
    const edges = await queryRows<{ parent_id: string; credential_id: string }>(
      client,
      "detection:lineage",
      `SELECT DISTINCT parent_id, credential_id FROM credential_lineage WHERE parent_id IN {parents:Array(String)}`,
      { parents: frontier },
    );
    frontier = [];
    for (const e of edges) {
      children.set(e.parent_id, [...(children.get(e.parent_id) ?? []), e.credential_id]);
      if (!visited.has(e.credential_id)) {
        visited.add(e.credential_id);
        frontier.push(e.credential_id);
      }
    }
  }
  for (const r of revs) {
    if (!r.cascade) continue;
    const set = covered.get(r.revocation_id)!;
    const queue = [...set];
    while (queue.length) {
      for (const child of children.get(queue.pop()!) ?? []) {
        if (!set.has(child)) {
          set.add(child);
          queue.push(child);
        }
      }
    }
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

/** Writes coverage rows under one new version, which it returns (lib/detection/coverage-memory.ts keeps it too). */
export async function writeCoverage(client: ClickHouseClient, rows: CoverageEntry[]): Promise<number> {
  const version = nextVersion();
  if (rows.length === 0) return version;
  await insertRows(client, "coverage", rows.map((r) => ({ ...r, version })), { comment: "detection:coverage:write" });
  return version;
}
