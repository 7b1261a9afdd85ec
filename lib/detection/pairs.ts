/**
 * The post-revocation pairs table (lib/store/migrations/002_detection.sql, generation column in
 * 020_coverage.sql). A pair is written at most once per generation of its revocation: the
 * writer first asks which of its pairs are already stored in that generation, and the counters'
 * materialized view then adds exactly the new ones. Writes are keyed by (revocation, event), so
 * writing the same batch twice, or two passes interleaved, changes nothing the second time.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createHash } from "node:crypto";
import { insertBytes, queryRows } from "../store/clickhouse";
import { TsvBytes, tsvField } from "../store/tsv";
import { nextVersion } from "../store/version";
import type { MatchedPair } from "./matcher";

interface StoredPairKey {
  revocation_id: string;
  event_id: string;
  generation: number;
}

const pairKey = (revocationId: string, eventId: string) => `${revocationId}\u0000${eventId}`;

/**
 * The latest version of each pair, by aggregation rather than FINAL: for a point lookup by
 * primary key this reads only the granules of the keys asked for, where FINAL merges every
 * part they fall in (measured in bench:scale: the check was half of the writer's time).
 */
const LATEST = `argMax(generation, version) AS generation, argMax(is_deleted, version) AS deleted`;

/** Generation of each already stored (not deleted) pair among the given ones. */
async function storedGenerations(client: ClickHouseClient, pairs: { revocation_id: string; event_id: string }[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (pairs.length === 0) return out;
  const revocations = [...new Set(pairs.map((p) => p.revocation_id))];
  const events = [...new Set(pairs.map((p) => p.event_id))];
  // The sorting key is (revocation_id, event_id): both IN sets prune by primary key.
  const rows = await queryRows<StoredPairKey>(
    client,
    "detection:pairs:stored",
    `SELECT revocation_id, event_id, ${LATEST} FROM post_revocation_actions
     WHERE revocation_id IN {revocations:Array(String)} AND event_id IN {events:Array(String)}
     GROUP BY revocation_id, event_id HAVING deleted = 0`,
    { revocations, events },
  );
  for (const r of rows) out.set(pairKey(r.revocation_id, r.event_id), Number(r.generation));
  return out;
}

/** Every stored pair of the given revocations (a derivation from scratch reads its own). */
export async function storedPairsOf(client: ClickHouseClient, revocationIds: string[]): Promise<StoredPairKey[]> {
  if (revocationIds.length === 0) return [];
  const rows = await queryRows<StoredPairKey>(
    client,
    "detection:pairs:ofRevocations",
    `SELECT revocation_id, event_id, ${LATEST} FROM post_revocation_actions WHERE revocation_id IN {ids:Array(String)}
     GROUP BY revocation_id, event_id HAVING deleted = 0`,
    { ids: revocationIds },
  );
  return rows.map((r) => ({ ...r, generation: Number(r.generation) }));
}

const INSERT_CHUNK = 50_000;

type PairKey = { revocation_id: string; event_id: string; generation: number };

/** The key columns of a pair row, in the order of its TabSeparated fields: all a tombstone sends. */
const KEY_COLUMNS: [string, ...string[]] = ["revocation_id", "event_id", "generation", "version", "is_deleted"];

/** One kind of pair row: its is_deleted, its columns, and how it adds its fields after the key (escaped). */
interface RowKind<T extends PairKey> {
  isDeleted: 0 | 1;
  columns: [string, ...string[]];
  addFields: (row: T, fields: string[]) => void;
}

const NEW_PAIRS: RowKind<MatchedPair> = {
  isDeleted: 0,
  columns: [...KEY_COLUMNS, "violation", "via", "time", "agent_id", "pipeline_id", "session_id", "credential_id", "layer", "action", "resource", "decision", "sensitivity"],
  addFields: (p, fields) => {
    fields.push(String(p.violation), tsvField(p.via), tsvField(p.time), tsvField(p.agent_id), tsvField(p.pipeline_id), tsvField(p.session_id));
    fields.push(tsvField(p.credential_id), tsvField(p.layer), tsvField(p.action), tsvField(p.resource), tsvField(p.decision), tsvField(p.sensitivity));
  },
};
const TOMBSTONES: RowKind<PairKey> = { isDeleted: 1, columns: KEY_COLUMNS, addFields: () => {} };

/**
 * Inserts pair rows, all new pairs or all tombstones, as TabSeparated bytes (ClickHouse parses
 * TSV about twice as fast as JSONEachRow, which the CPU profile of bench:scale's incident week
 * also showed being encoded on the worker's main thread). Each insert carries a deduplication
 * token derived from its rows' keys (not their version): two passes that computed the same new
 * pairs, e.g. a batch evaluated twice at once, send the same token, and the table drops the
 * second insert together with its counters' share
 * (deduplicate_blocks_in_dependent_materialized_views), so nothing is counted twice.
 */
async function insertPairRows<T extends PairKey>(
  client: ClickHouseClient,
  kind: RowKind<T>,
  rows: T[],
  comment: string,
): Promise<void> {
  const versionField = String(nextVersion());
  const isDeletedField = String(kind.isDeleted);
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK);
    const token = createHash("sha256");
    for (const key of chunk.map((r) => `${kind.isDeleted}\u0000${r.revocation_id}\u0000${r.event_id}\u0000${r.generation}`).sort()) token.update(key + "\n");
    const body = new TsvBytes();
    // One array of fields, joined once per row (as ingest/event-writer.ts, toTsvRow, does).
    const fields: string[] = [];
    for (const r of chunk) {
      fields.length = 0;
      fields.push(tsvField(r.revocation_id), tsvField(r.event_id), String(r.generation), versionField, isDeletedField);
      kind.addFields(r, fields);
      body.addLine(fields.join("\t"));
    }
    await insertBytes(client, "post_revocation_actions", kind.columns, body.bytes(), { comment, deduplicationToken: token.digest("hex") });
  }
}

/**
 * Appends the pairs not yet stored in their generation; returns how many were new. Pairs
 * stored in an older generation are written again in the new one (a derivation is rebuilding it).
 * `mayBeStored` narrows which pairs the table is asked about (the engine knows the others are
 * new, see DetectionEngine); without it every pair is checked.
 */
export async function appendPairs(
  client: ClickHouseClient,
  pairs: MatchedPair[],
  comment = "detection:pairs:append",
  mayBeStored: (p: MatchedPair) => boolean = () => true,
): Promise<number> {
  if (pairs.length === 0) return 0;
  const stored = await storedGenerations(client, pairs.filter(mayBeStored));
  const unique = new Map<string, MatchedPair>();
  for (const p of pairs) {
    const key = pairKey(p.revocation_id, p.event_id);
    if (stored.get(key) !== p.generation) unique.set(key, p);
  }
  if (unique.size === 0) return 0;
  await insertPairRows(client, NEW_PAIRS, [...unique.values()], comment);
  return unique.size;
}

/** Tombstones pairs that a derivation no longer finds. */
export async function deletePairs(client: ClickHouseClient, pairs: { revocation_id: string; event_id: string; generation: number }[]): Promise<void> {
  if (pairs.length === 0) return;
  await insertPairRows(client, TOMBSTONES, pairs, "detection:pairs:delete");
}
