/**
 * Authentication of a request: a bearer API key (API clients) or a session cookie
 * (people). Returns who is calling, or null.
 *
 * Bearer keys: REVENANT_BOOTSTRAP_API_KEY is an admin key for automation (never stored);
 * other keys are created through /api/v1/keys and stored hashed (./keys.ts).
 * A request with an Authorization header is judged by that header alone.
 *
 * Failed authentications are limited per client address and per key prefix
 * (REVENANT_AUTH_FAILURES_PER_MIN): once a bucket is empty the request is refused with
 * AuthRateLimitedError before any lookup, so random tokens cannot buy unlimited
 * ClickHouse queries.
 */
import { config } from "../config";
import { clientAddress } from "../http/client-address";
import { peekToken, takeToken } from "../http/rate-limit";
import { store } from "../store/clickhouse";
import { readSessionCookie } from "./cookies";
import { sameSecret } from "./crypto";
import { ApiKeyStore } from "./keys";
import type { Principal } from "./roles";
import { SessionStore } from "./sessions";

export * from "./roles";
export { audit } from "./audit";
export { CSRF_HEADER } from "./cookies";

export class AuthRateLimitedError extends Error {
  constructor(readonly retryAfter: number) {
    super(`too many failed authentications; retry in ${retryAfter} s`);
  }
}

type Credential = { kind: "bearer" | "cookie" | "malformed"; token: string };

function credentialOf(req: Request): Credential | null {
  const header = req.headers.get("authorization");
  if (header !== null) {
    if (!/^Bearer /i.test(header)) return { kind: "malformed", token: "" };
    const token = header.slice("Bearer ".length).trim();
    return token && token.length <= 512 ? { kind: "bearer", token } : { kind: "malformed", token: "" };
  }
  const session = readSessionCookie(req);
  if (session === null) return null;
  return session && session.length <= 512 ? { kind: "cookie", token: session } : { kind: "malformed", token: "" };
}

/** The buckets a failure is charged to: the address, and the key's visible prefix (what the UI shows of a key). */
function failureBuckets(req: Request, c: Credential): string[] {
  const names = [`authfail-ip:${clientAddress(req) || "unknown"}`];
  if (c.token) names.push(`authfail-prefix:${c.kind}:${c.token.slice(0, 10)}`);
  return names;
}

/** On the process's sessions: this is where a request's credential meets the store (lib/http/route.ts calls authenticate). */
async function lookup(c: Credential): Promise<Principal | null> {
  if (c.kind === "bearer") {
    const bootstrap = config().REVENANT_BOOTSTRAP_API_KEY;
    if (bootstrap && sameSecret(c.token, bootstrap)) return { kind: "api_key", id: "bootstrap", name: "bootstrap key", role: "admin" };
    return new ApiKeyStore(store().reader, store().writer).principal(c.token);
  }
  if (c.kind === "cookie") return new SessionStore(store().reader, store().writer).principal(c.token);
  return null;
}

/**
 * Throws AuthRateLimitedError when a credential that is not valid comes from an address or
 * with a key prefix that has failed too often. A valid key or session is never held back: they
 * are 256 random bits, so letting them through tells a guesser nothing it could use, whereas
 * limiting first let anyone behind the same address (a NAT, a gateway calling the status
 * lookup) lock the valid keys out with junk.
 */
export async function authenticate(req: Request): Promise<Principal | null> {
  const c = credentialOf(req);
  if (!c) return null;
  const principal = await lookup(c);
  if (principal) return principal;
  const perMin = config().REVENANT_AUTH_FAILURES_PER_MIN;
  const buckets = failureBuckets(req, c);
  const wait = Math.max(...buckets.map((b) => peekToken(b, perMin)));
  if (wait > 0) throw new AuthRateLimitedError(wait);
  for (const b of buckets) takeToken(b, perMin);
  return null;
}
