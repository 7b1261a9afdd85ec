/**
 * Cookie names and attributes (the contract with the UI):
 * - `revenant_session`: the session token; HttpOnly, SameSite=Lax, Path=/.
 * - `revenant_csrf`: the CSRF token, readable by scripts; cookie-authenticated requests
 *   other than GET/HEAD/OPTIONS must echo it in the `x-csrf-token` header (double submit).
 * SameSite=Lax (not Strict) so that a link to an alert in chat opens signed in; Lax still
 * keeps the cookie off cross-site POSTs, and the CSRF token covers the rest.
 *
 * When cookies are Secure (REVENANT_COOKIE_SECURE: "true" by default under
 * NODE_ENV=production) both names carry the `__Host-` prefix: browsers then accept them
 * only from a secure origin, for Path=/ and without a Domain, so a sibling subdomain or
 * a plain-HTTP man in the middle cannot plant a session or CSRF cookie. With the setting
 * "true", un-prefixed cookies are ignored altogether.
 */
import { config } from "../config";

export const SESSION_COOKIE = "revenant_session";
export const CSRF_COOKIE = "revenant_csrf";
export const CSRF_HEADER = "x-csrf-token";
const HOST_PREFIX = "__Host-";

export function readCookie(req: Request, name: string): string | null {
  const header = req.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return null;
}

/** Reads `__Host-<name>`, or (unless cookies must be Secure) the plain name. */
export function readAuthCookie(req: Request, name: string): string | null {
  const prefixed = readCookie(req, HOST_PREFIX + name);
  if (prefixed !== null || config().REVENANT_COOKIE_SECURE === "true") return prefixed;
  return readCookie(req, name);
}

export const readSessionCookie = (req: Request) => readAuthCookie(req, SESSION_COOKIE);
export const readCsrfCookie = (req: Request) => readAuthCookie(req, CSRF_COOKIE);

function secure(req: Request): boolean {
  const setting = config().REVENANT_COOKIE_SECURE;
  if (setting !== "auto") return setting === "true";
  const forwarded = req.headers.get("x-forwarded-proto");
  if (forwarded) return forwarded.split(",")[0].trim() === "https";
  return new URL(req.url).protocol === "https:";
}

/** A Set-Cookie value under the same rules as the session cookies (prefix, Secure, Lax, Path=/). */
export function serialize(req: Request, name: string, value: string, opts: { httpOnly: boolean; maxAgeSeconds: number }): string {
  const isSecure = secure(req);
  const parts = [`${isSecure ? HOST_PREFIX : ""}${name}=${encodeURIComponent(value)}`, "Path=/", "SameSite=Lax", `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`];
  if (opts.httpOnly) parts.push("HttpOnly");
  if (isSecure) parts.push("Secure");
  return parts.join("; ");
}

export function sessionCookies(req: Request, token: string, csrf: string, maxAgeSeconds: number): string[] {
  return [
    serialize(req, SESSION_COOKIE, token, { httpOnly: true, maxAgeSeconds }),
    serialize(req, CSRF_COOKIE, csrf, { httpOnly: false, maxAgeSeconds }),
  ];
}

export function clearedCookies(req: Request): string[] {
  return [serialize(req, SESSION_COOKIE, "", { httpOnly: true, maxAgeSeconds: 0 }), serialize(req, CSRF_COOKIE, "", { httpOnly: false, maxAgeSeconds: 0 })];
}
