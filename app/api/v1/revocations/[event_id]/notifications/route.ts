import { apiRoute } from "@/lib/http/route";
import { notificationsOf } from "@/lib/transmitter/notified";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** GET /api/v1/revocations/{event_id}/notifications (viewer): per SSF receiver, what it was told about the revocation and when it acknowledged. */
export const GET = apiRoute<{ event_id: string }>("viewer", async (_req, { params }) => {
  const items = await notificationsOf(store().reader, params.event_id);
  return Response.json({ items, next_cursor: null });
});
