/**
 * Authentication of a request: a bearer API key (API clients) or a session cookie
 * (people). Returns who is calling, or null.
 *
 * Bearer keys: REVENANT_BOOTSTRAP_API_KEY is an admin key for automation (never stored);
 * other keys are created through /api/v1/keys and stored hashed (./keys.ts).
 * A request with an Authorization header is judged by that header alone.
 */
import { config } from "../config";
import { readCookie, SESSION_COOKIE } from "./cookies";
import { sameSecret } from "./crypto";
import { ApiKeyStore } from "./keys";
import type { Principal } from "./roles";
import { SessionStore } from "./sessions";

export * from "./roles";
export { audit } from "./audit";
export { CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE } from "./cookies";

export async function authenticate(req: Request): Promise<Principal | null> {
  const header = req.headers.get("authorization");
  if (header !== null) {
    if (!/^Bearer /i.test(header)) return null;
    const token = header.slice("Bearer ".length).trim();
    if (!token || token.length > 512) return null;
    const bootstrap = config().REVENANT_BOOTSTRAP_API_KEY;
    if (bootstrap && sameSecret(token, bootstrap)) return { kind: "api_key", id: "bootstrap", name: "bootstrap key", role: "admin" };
    return new ApiKeyStore().principal(token);
  }
  const session = readCookie(req, SESSION_COOKIE);
  if (session && session.length <= 512) return new SessionStore().principal(session);
  return null;
}
