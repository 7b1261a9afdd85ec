import { apiRoute } from "@/lib/http/route";
import { healthReport } from "@/lib/health";

export const dynamic = "force-dynamic";

/**
 * SPEC §3: no auth. 200 when ok, and while the worker is starting (the app serves already);
 * 503 when degraded (lib/health.ts says when).
 */
export const GET = apiRoute(null, async () => {
  const report = await healthReport();
  return Response.json(report, { status: report.status === "degraded" ? 503 : 200 });
});
