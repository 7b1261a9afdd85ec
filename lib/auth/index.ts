/**
 * Authentication of a request: a bearer API key (API clients) or a session cookie
 * (people). Returns who is calling, or null.
 *
 * Bearer keys: REVENANT_BOOTSTRAP_API_KEY is an admin key for automation.
 */
import { timingSafeEqual, createHash } from "node:crypto";
import { config } from "../config";
import type { Principal } from "./roles";

export * from "./roles";

function sameSecret(a: string, b: string): boolean {
  // Compare digests so that length differences do not leak through timing either.
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

export async function authenticate(req: Request): Promise<Principal | null> {
  const header = req.headers.get("authorization");
  if (header?.startsWith("Bearer ")) {
    const token = header.slice("Bearer ".length).trim();
    const bootstrap = config().REVENANT_BOOTSTRAP_API_KEY;
    if (bootstrap && sameSecret(token, bootstrap)) return { kind: "api_key", id: "bootstrap", name: "bootstrap key", role: "admin" };
    return null;
  }
  return null;
}
