/** Roles (README "Using it"), each including everything below it. */
export const ROLES = ["viewer", "analyst", "investigator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function roleAtLeast(have: Role, need: Role): boolean {
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
