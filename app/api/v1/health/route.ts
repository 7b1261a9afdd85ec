import { authenticate, AuthRateLimitedError } from "@/lib/auth";
import { apiRoute } from "@/lib/http/route";
import { healthReport } from "@/lib/health";

export const dynamic = "force-dynamic";

/**
 * GET /api/v1/health (docs/API.md, "Health and session"). Public: only {status, lag}, for load balancers and probes (broker
 * addresses and error texts, which may quote rows, stay inside). Any signed-in role (a
 * session or a bearer key) gets the full report. 200 when ok, and while the worker is
 * starting (the app serves already); 503 when degraded (lib/health.ts says when).
 */
export const GET = apiRoute(null, async (req) => {
  const principal = await authenticate(req).catch((err: Error) => {
    if (err instanceof AuthRateLimitedError) return null;
    throw err;
  });
  const report = await healthReport();
  const status = report.status === "degraded" ? 503 : 200;
  return Response.json(principal ? report : { status: report.status, lag: report.lag }, { status, headers: { "cache-control": "no-store" } });
});
