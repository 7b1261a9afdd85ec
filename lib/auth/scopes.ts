/**
 * What an API key may post to POST /api/v1/events, beyond what its role allows. Evidence
 * that changes the meaning of other evidence (a revocation opens a window, a
 * reinstatement closes one and withdraws alerts) needs its own grant, so that a
 * gateway's telemetry key cannot forge either.
 *
 * - `ingest:telemetry`: action, credential_issued, session_start, session_end
 * - `ingest:revocation`: revocation
 * - `ingest:reinstatement`: reinstatement
 *
 * A key created without scopes (and every key made before scopes existed) gets
 * `ingest:telemetry` only. Admin keys, the bootstrap key and signed-in people (analyst or
 * above, audited by name) may post every type.
 */
import type { Principal } from "./roles";

export const SCOPES = ["ingest:telemetry", "ingest:revocation", "ingest:reinstatement"] as const;
export type Scope = (typeof SCOPES)[number];
export const DEFAULT_SCOPES: Scope[] = ["ingest:telemetry"];

export function scopeForEventType(type: string): Scope {
  if (type === "revocation") return "ingest:revocation";
  if (type === "reinstatement") return "ingest:reinstatement";
  return "ingest:telemetry";
}

export function effectiveScopes(stored: readonly string[] | undefined): Scope[] {
  const known = (stored ?? []).filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
  return known.length ? known : DEFAULT_SCOPES;
}

/** May this caller post an event of this type? */
export function mayPost(principal: Principal, type: string): boolean {
  if (principal.kind !== "api_key" || principal.role === "admin") return true;
  return effectiveScopes(principal.scopes).includes(scopeForEventType(type));
}
