import { encodeFlow, FLOW_COOKIE, FLOW_MAX_AGE_SECONDS, oidcEnabled, startSignIn } from "@/lib/auth/oidc";
import { serialize } from "@/lib/auth/cookies";
import { ApiError } from "@/lib/http/errors";
import { safeNext } from "@/lib/http/redirect";
import { apiRoute } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/**
 * GET /api/v1/auth/oidc/login?next=/alerts: public. Sends the browser to the identity
 * provider (authorization code + PKCE); state, nonce, the PKCE verifier and the
 * same-origin `next` travel in a short-lived HttpOnly cookie until the callback.
 */
export const GET = apiRoute(null, async (req) => {
  if (!oidcEnabled()) throw new ApiError(404, "not_found", "single sign-on is not configured");
  const next = safeNext(new URL(req.url).searchParams.get("next"));
  const { url, flow } = await startSignIn(next);
  const headers = new Headers({ location: url.toString(), "cache-control": "no-store" });
  headers.append("set-cookie", serialize(req, FLOW_COOKIE, encodeFlow(flow), { httpOnly: true, maxAgeSeconds: FLOW_MAX_AGE_SECONDS }));
  return new Response(null, { status: 302, headers });
});
