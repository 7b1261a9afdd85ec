/**
 * Roles (docs/ROLES.md). People and keys climb one ladder, each role including everything
 * below it. `enforcer` stands beside the ladder: a key for an enforcement point that may only
 * ask whether credentials are covered (app/api/v1/credentials/); admins may do that too.
 */
export const ROLES = ["viewer", "analyst", "investigator", "admin"] as const;
/** What an API key may carry: the ladder, and the narrow enforcer role. */
export const KEY_ROLES = [...ROLES, "enforcer"] as const;
export type Role = (typeof KEY_ROLES)[number];

export function roleAtLeast(have: Role, need: Role): boolean {
  if (need === "enforcer") return have === "enforcer" || have === "admin";
  if (have === "enforcer") return false;
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export interface Principal {
  /** "system": the process itself (first-admin creation, CLI scripts), for the audit log. */
  kind: "user" | "api_key" | "system";
  /** user id or key id; never the secret */
  id: string;
  /** email or key name, for the audit log */
  name: string;
  role: Role;
  /** API keys only: what the key may post (lib/auth/scopes.ts). */
  scopes?: string[];
}
