/**
 * Who posted an event, in a form an outside Kafka producer cannot forge (docs/EVENTS.md,
 * "Provenance").
 *
 * POST /api/v1/events produces each event to Kafka with two headers: the principal
 * (`revenant-submitted-by`: `api_key:<id>` or `user:<id>`) and an HMAC-SHA256 of that
 * principal and the message's SHA-256 under the installation's provenance key
 * (`revenant-submitted-by-sig`). The consumer stores the principal only when the signature
 * checks: anyone who can write to the topic can set headers, but without the key (kept in
 * ClickHouse, table provenance_keys, made once by lib/store/migrations/070_event_provenance.sql)
 * they cannot sign a claim, nor move a signed claim onto other content. A claim that does
 * not check is ignored and the event is stamped with its Kafka coordinates only.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createHmac, timingSafeEqual } from "node:crypto";
import { contentHash } from "./content-hash";
import { queryRows } from "../store/clickhouse";

export const SUBMITTED_BY_HEADER = "revenant-submitted-by";
export const SIGNATURE_HEADER = "revenant-submitted-by-sig";

const KEY = Symbol.for("revenant.provenanceKey");
type Holder = typeof globalThis & { [KEY]?: Promise<Buffer> };

/**
 * The provenance key, read once per process (on globalThis: Next.js bundles route handlers
 * separately, lib/store/clickhouse.ts). The oldest row wins, so processes that raced to make
 * one agree on it.
 */
export function provenanceKey(client: ClickHouseClient): Promise<Buffer> {
  const g = globalThis as Holder;
  g[KEY] ??= queryRows<{ key: string }>(client, "provenance:key", "SELECT key FROM provenance_keys ORDER BY created, key LIMIT 1").then((rows) => {
    if (!rows[0]?.key) throw new Error("provenance key missing: migrations have not run");
    return Buffer.from(rows[0].key, "hex");
  });
  g[KEY].catch(() => delete g[KEY]);
  return g[KEY];
}

export { contentHash } from "./content-hash";

const mac = (key: Buffer, submittedBy: string, hash: string) => createHmac("sha256", key).update(`${submittedBy}\n${hash}`).digest();

/** The headers that stamp a message the app produces on behalf of a principal. */
export function signedSubmitter(key: Buffer, submittedBy: string, value: string): Record<string, string> {
  return { [SUBMITTED_BY_HEADER]: submittedBy, [SIGNATURE_HEADER]: mac(key, submittedBy, contentHash(value)).toString("base64url") };
}

/** The principal a message's headers claim, if the app signed that claim for this content; else ''. */
export function verifiedSubmitter(key: Buffer, claimed: string, signature: string, hash: string): string {
  if (!claimed || !signature) return "";
  const expected = mac(key, claimed, hash);
  const given = Buffer.from(signature, "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected) ? claimed : "";
}
