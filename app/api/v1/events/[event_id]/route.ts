import { apiRoute } from "@/lib/http/route";
import { notFound } from "@/lib/http/errors";
import { eventDetail } from "@/lib/queries/event-detail";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/**
 * GET /api/v1/events/{event_id}: the stored (first) copy of an event, how it arrived, and the
 * later copies with other content that were kept aside (docs/API.md). Role: analyst, as the
 * conflicts quote whatever their senders posted.
 */
export const GET = apiRoute<{ event_id: string }>("analyst", async (_req, { params }) => {
  const detail = await eventDetail(store().reader, params.event_id);
  if (!detail) throw notFound("event");
  return Response.json(detail);
});
