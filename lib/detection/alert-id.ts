import { createHash } from "node:crypto";
import type { AlertRule } from "./types";

/**
 * The alert id is a pure function of its dedup key (docs/SEMANTICS.md point 8), so every evaluation,
 * in any process, in any arrival order, names the same alert.
 */
export function alertId(rule: AlertRule, revocationId: string, agentId: string | null): string {
  const key = rule === "partial_containment" ? `${rule}\u0000${revocationId}` : `${rule}\u0000${revocationId}\u0000${agentId ?? ""}`;
  return `al_${createHash("sha256").update(key).digest("hex").slice(0, 24)}`;
}
