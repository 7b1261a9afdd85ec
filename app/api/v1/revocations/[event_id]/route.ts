import { apiRoute } from "@/lib/http/route";
import { notFound } from "@/lib/http/errors";
import { getRevocation } from "@/lib/queries/revocations";
import { listAlerts } from "@/lib/queries/alerts";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

export const GET = apiRoute<{ event_id: string }>("viewer", async (_req, { params }) => {
  const id = decodeURIComponent(params.event_id);
  const revocation = await getRevocation(store().reader, id);
  if (!revocation) throw notFound("revocation");
  const alerts = await listAlerts(store().reader, { revocation_id: id }, undefined, 1000);
  return Response.json({ ...revocation, alerts: alerts.items });
});
