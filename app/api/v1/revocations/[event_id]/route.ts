import { apiRoute } from "@/lib/http/route";
import { notFound } from "@/lib/http/errors";
import { getRevocation } from "@/lib/queries/revocations";
import { listAlerts } from "@/lib/queries/alerts";
import { setSourceOf } from "@/lib/ssf/sets";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

export const GET = apiRoute<{ event_id: string }>("viewer", async (_req, { params }) => {
  const id = params.event_id;
  const revocation = await getRevocation(store().reader, id);
  if (!revocation) throw notFound("revocation");
  const [alerts, source] = await Promise.all([
    listAlerts(store().reader, { revocation_id: id }, undefined, 1000),
    // A revocation announced by an SSF transmitter: the SET it came from (raw JWT and claims).
    setSourceOf(store().reader, id),
  ]);
  // The first 1,000 alerts; the rest through GET /alerts?revocation_id= (alerts_truncated says so).
  return Response.json({ ...revocation, alerts: alerts.items, alerts_truncated: alerts.next_cursor !== null, source });
});
