import { audit } from "@/lib/auth/audit";
import { clearedCookies, readSessionCookie } from "@/lib/auth/cookies";
import { SessionStore } from "@/lib/auth/sessions";
import { apiRoute } from "@/lib/http/route";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** POST /api/v1/auth/logout: ends the cookie's session (CSRF-checked like every cookie change) and clears the cookies. */
export const POST = apiRoute("viewer", async (req, { principal }) => {
  const token = readSessionCookie(req);
  if (token) await new SessionStore(store().reader, store().writer).revoke(token);
  await audit(principal, "auth.logout", principal!.name, {}, req);
  const headers = new Headers({ "cache-control": "no-store" });
  for (const c of clearedCookies(req)) headers.append("set-cookie", c);
  return new Response(null, { status: 204, headers });
});
