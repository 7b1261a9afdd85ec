/**
 * Runs before every page request (Next.js 16 "proxy", formerly middleware; Node.js runtime).
 *
 * 1. Pages require authentication, checked on the server: a valid session cookie, or a
 *    valid bearer key (so automated browsers can send `Authorization: Bearer` through
 *    extraHTTPHeaders). Anonymous page requests are redirected to /login?next=…;
 *    /settings/* needs the admin role. API routes are not redirected: apiRoute answers
 *    them with 401/403 JSON.
 * 2. A strict Content-Security-Policy with a fresh nonce per request: Next.js reads the
 *    nonce from the request's CSP header and puts it on its own scripts, so no
 *    'unsafe-inline' script is needed. Pages must be dynamically rendered for that (they
 *    are: every page depends on who is signed in). Dev mode also needs 'unsafe-eval'
 *    (React's dev tooling) and a websocket for hot reload.
 * The other security headers are static and set in next.config.js.
 */
import { NextResponse, type NextRequest } from "next/server";
import { authenticate, roleAtLeast, type Role } from "@/lib/auth";

const PUBLIC_PAGES = new Set(["/login"]);
/** Page prefixes that need more than viewer; every other page needs viewer (an enforcer key sees none). */
const PAGE_ROLES: [string, Role][] = [["/settings", "admin"]];

function csp(nonce: string, dev: boolean): string {
  return [
    "default-src 'self'",
    // Dev mode: Turbopack's dev runtime loads scripts the nonce does not reach, so the dev
    // server (never a deployment) relaxes script-src; production keeps nonce + strict-dynamic.
    dev ? "script-src 'self' 'unsafe-inline' 'unsafe-eval'" : `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`,
    // Inline style attributes (charts, React style props) are common and low-risk; scripts are what the nonce guards.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self' data:",
    `connect-src 'self'${dev ? " ws: wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export async function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  // API routes, OTLP/HTTP's fixed path (app/v1/traces/route.ts), and the SSF transmitter's
  // metadata, keys and poll endpoint check their own callers.
  if (pathname.startsWith("/api/") || pathname === "/v1/traces" || pathname.startsWith("/ssf/") || pathname.startsWith("/.well-known/")) return NextResponse.next();

  if (!PUBLIC_PAGES.has(pathname)) {
    const principal = await authenticate(request).catch(() => null);
    if (!principal) {
      const login = new URL("/login", request.url);
      if (pathname !== "/") login.searchParams.set("next", pathname + search);
      return NextResponse.redirect(login);
    }
    const need = PAGE_ROLES.find(([prefix]) => pathname === prefix || pathname.startsWith(prefix + "/"))?.[1] ?? "viewer";
    if (!roleAtLeast(principal.role, need)) {
      return new NextResponse(`This page needs the ${need} role.`, { status: 403, headers: { "content-type": "text/plain; charset=utf-8" } });
    }
  }

  const nonce = Buffer.from(crypto.randomUUID()).toString("base64");
  const policy = csp(nonce, process.env.NODE_ENV === "development");
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("content-security-policy", policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", policy);
  return response;
}

export const config = {
  matcher: [
    // Everything but Next.js internals (static build output, images, dev HMR) and the favicon. Prefetches are NOT exempted
    // (Next's CSP example exempts them): a prefetch header would otherwise skip the auth check.
    "/((?!_next/|favicon.ico).*)",
  ],
};
