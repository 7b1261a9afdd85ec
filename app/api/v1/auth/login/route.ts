import { z } from "zod";
import { audit, clientIp } from "@/lib/auth/audit";
import { ensureFirstAdminOnce } from "@/lib/auth/bootstrap";
import { sessionCookies } from "@/lib/auth/cookies";
import { verifyPassword } from "@/lib/auth/passwords";
import { SessionStore } from "@/lib/auth/sessions";
import { UserStore } from "@/lib/auth/users";
import { config } from "@/lib/config";
import { ApiError, rateLimited } from "@/lib/http/errors";
import { takeToken } from "@/lib/http/rate-limit";
import { apiRoute, readJson } from "@/lib/http/route";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const body = z.object({ email: z.string().trim().toLowerCase().min(1).max(254), password: z.string().min(1).max(1024) });

/**
 * POST /api/v1/auth/login {email, password}: public (it is how people get a session).
 * Sets the httpOnly `revenant_session` cookie and the script-readable `revenant_csrf`
 * cookie, and returns {user, csrf_token}. Limited per client address and per email;
 * a wrong email and a wrong password answer alike, in the same time.
 */
export const POST = apiRoute(null, async (req) => {
  // A JSON content type cannot be sent cross-site without a CORS preflight, which this
  // route never grants: no login CSRF from a plain HTML form.
  if (!(req.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
    throw new ApiError(415, "unsupported_media_type", "send the credentials as application/json");
  }
  const { email, password } = body.parse(await readJson(req, 16 * 1024));
  if (config().REVENANT_SSO_ONLY) {
    await audit(null, "auth.login_failed", email, { reason: "sso_only" }, req);
    throw new ApiError(403, "sso_only", "password sign-in is switched off: sign in with single sign-on");
  }
  const perMin = config().REVENANT_LOGIN_RATE_PER_MIN;
  const wait = Math.max(takeToken(`login-ip:${clientIp(req) || "unknown"}`, perMin), takeToken(`login-email:${email}`, perMin));
  if (wait > 0) throw rateLimited("too many sign-in attempts", wait);
  await ensureFirstAdminOnce();
  const users = new UserStore(store().reader, store().writer);
  const user = await users.byEmailWithHash(email);
  const ok = await verifyPassword(user?.password_hash ?? null, password);
  if (!user || !ok || user.disabled) {
    await audit(null, "auth.login_failed", email, { reason: !user ? "unknown_email" : user.disabled ? "disabled" : "wrong_password" }, req);
    throw new ApiError(401, "invalid_credentials", "wrong email or password");
  }
  const session = await new SessionStore(store().reader, store().writer).create(user);
  const principal = { kind: "user" as const, id: user.id, name: user.email, role: user.role };
  await audit(principal, "auth.login", user.email, {}, req);
  const headers = new Headers({ "content-type": "application/json", "cache-control": "no-store" });
  for (const c of sessionCookies(req, session.token, session.csrf, session.maxAgeSeconds)) headers.append("set-cookie", c);
  return new Response(
    JSON.stringify({ user: { id: user.id, email: user.email, role: user.role }, csrf_token: session.csrf, expires_at: session.expiresAt.toISOString() }),
    { status: 200, headers },
  );
});
