import { audit } from "@/lib/auth/audit";
import { readAuthCookie, serialize, sessionCookies } from "@/lib/auth/cookies";
import { decodeFlow, finishSignIn, FLOW_COOKIE, OidcRefusedError, oidcEnabled } from "@/lib/auth/oidc";
import type { Principal, Role } from "@/lib/auth/roles";
import { SessionStore } from "@/lib/auth/sessions";
import { oneAdminChangeAtATime, UserStore } from "@/lib/auth/users";
import { ApiError } from "@/lib/http/errors";
import { safeNext } from "@/lib/http/redirect";
import { apiRoute } from "@/lib/http/route";
import { logger } from "@/lib/log";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

function redirect(req: Request, location: string, cookies: string[]): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  for (const c of cookies) headers.append("set-cookie", c);
  // The flow cookie is single-use, whatever the outcome.
  headers.append("set-cookie", serialize(req, FLOW_COOKIE, "", { httpOnly: true, maxAgeSeconds: 0 }));
  return new Response(null, { status: 302, headers });
}

const SIGN_ON: Principal = { kind: "system", id: "oidc", name: "single sign-on", role: "admin" };

/**
 * The user signing in, created or with the role the provider maps, refused when:
 * - a password account holds the email and the provider does not vouch for it
 *   (`email_verified` true): anyone who can set that email at the provider would take the
 *   account over;
 * - the role would leave no enabled admin (the provider's mapping demotes the last one).
 */
async function provision(who: { email: string; role: Role; emailVerified: boolean }) {
  const users = new UserStore(store().reader, store().writer);
  return oneAdminChangeAtATime(async () => {
    const existing = await users.byEmailWithHash(who.email);
    if (existing?.password_hash && !who.emailVerified) {
      throw new OidcRefusedError("email_not_verified", "a password account has this email, and the identity provider does not say it verified it");
    }
    if (existing && existing.role === "admin" && who.role !== "admin" && !existing.disabled) {
      if ((await users.enabledAdmins()).every((u) => u.id === existing.id)) {
        throw new OidcRefusedError("last_admin", `the identity provider maps this last enabled admin to ${who.role}; promote another admin first`);
      }
    }
    return users.provision(who.email, who.role);
  });
}

/**
 * GET /api/v1/auth/oidc/callback: public; where the identity provider sends the browser
 * back. Checks state, nonce and PKCE, maps the role, creates the user on first sign-in,
 * starts a session like password sign-in does, and goes on to `next`. A refusal goes
 * back to /login?sso_error=<reason> and is audited.
 */
export const GET = apiRoute(null, async (req) => {
  if (!oidcEnabled()) throw new ApiError(404, "not_found", "single sign-on is not configured");
  const flow = decodeFlow(readAuthCookie(req, FLOW_COOKIE));
  const url = new URL(req.url);
  try {
    if (!flow) throw new OidcRefusedError("no_flow", "the sign-in started elsewhere or expired; start again");
    const providerError = url.searchParams.get("error");
    if (providerError) throw new OidcRefusedError("provider_error", `the identity provider answered ${providerError.slice(0, 64)}`);
    const who = await finishSignIn(url, flow);
    const { user, created, previousRole } = await provision(who);
    if (user.disabled) throw new OidcRefusedError("disabled", "this user is disabled in Revenant");
    const principal: Principal = { kind: "user", id: user.id, name: user.email, role: user.role };
    const sessions = new SessionStore(store().reader, store().writer);
    if (created) await audit(SIGN_ON, "user.create", user.email, { user_id: user.id, role: user.role, via: "oidc" }, req, { required: true });
    if (previousRole) {
      // A role changed by the provider's mapping is a role change like an admin's (docs/ROLES.md): audited, and the user's other sessions end.
      await audit(SIGN_ON, "user.update", user.id, { email: user.email, role: user.role, previous_role: previousRole, via: "oidc" }, req, { required: true });
      await sessions.revokeAllFor(user.id);
    }
    const session = await sessions.create(user);
    await audit(principal, "auth.login", user.email, { method: "oidc", subject: who.subject }, req);
    // Checked again here: the flow cookie comes back from the browser, which may not be where it went out.
    return redirect(req, safeNext(flow.next), sessionCookies(req, session.token, session.csrf, session.maxAgeSeconds));
  } catch (err) {
    if (!(err instanceof OidcRefusedError)) throw err;
    logger().warn({ reason: err.reason, err: err.message }, "single sign-on refused");
    await audit(null, "auth.login_failed", "oidc", { method: "oidc", reason: err.reason, message: err.message.slice(0, 300) }, req);
    return redirect(req, `/login?sso_error=${encodeURIComponent(err.reason)}`, []);
  }
});
