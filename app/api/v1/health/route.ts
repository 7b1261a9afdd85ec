import { authenticate, AuthRateLimitedError, roleAtLeast, type Principal } from "@/lib/auth";
import { apiRoute } from "@/lib/http/route";
import { healthReport } from "@/lib/health";
import { logger } from "@/lib/log";

export const dynamic = "force-dynamic";

/**
 * Who gets the full report: a person or key on the role ladder (docs/ROLES.md). An enforcer
 * key may only ask the credential status lookup. A caller who cannot be checked, because the
 * store that holds sessions and keys does not answer or the caller is rate-limited, gets the
 * public answer: health must say "degraded" (503) exactly when ClickHouse is down, not 500.
 */
async function detailsFor(req: Request): Promise<Principal | null> {
  try {
    const principal = await authenticate(req);
    return principal && roleAtLeast(principal.role, "viewer") ? principal : null;
  } catch (err) {
    if (!(err instanceof AuthRateLimitedError)) logger().warn({ err: (err as Error).message }, "health: caller not checked, public answer given");
    return null;
  }
}

/**
 * GET /api/v1/health (docs/API.md, "Health and session"). Public: only {status, lag}, for load balancers and probes (broker
 * addresses and error texts, which may quote rows, stay inside). A signed-in caller on the
 * role ladder (a session or a bearer key) gets the full report. 200 when ok, and while the
 * worker is starting (the app serves already); 503 when degraded (lib/health.ts says when).
 */
export const GET = apiRoute(null, async (req) => {
  const principal = await detailsFor(req);
  const report = await healthReport();
  const status = report.status === "degraded" ? 503 : 200;
  return Response.json(principal ? report : { status: report.status, lag: report.lag }, { status, headers: { "cache-control": "no-store" } });
});
