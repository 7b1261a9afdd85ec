import { apiRoute } from "@/lib/http/route";
import { healthReport } from "@/lib/health";

export const dynamic = "force-dynamic";

/** No auth (docs/API.md, "Health and session"). 200 when Kafka and ClickHouse answer, 503 otherwise. */
export const GET = apiRoute(null, async () => {
  const report = await healthReport();
  return Response.json(report, { status: report.status === "ok" ? 200 : 503 });
});
