/** A webhook endpoint's deliveries list query (GET /api/v1/webhooks/{id}/deliveries, docs/API.md). */
import { z } from "zod";
import { cursorParam, limitParam } from "../http/params";

export const deliveryListQuery = z.object({ limit: limitParam(50), cursor: cursorParam });
/** What a caller may send, typed as the route reads it. */
export type DeliveryListQuery = Partial<z.output<typeof deliveryListQuery>>;
