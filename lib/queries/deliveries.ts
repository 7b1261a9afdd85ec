/** A webhook endpoint's deliveries list query (GET /api/v1/webhooks/{id}/deliveries, docs/API.md). */
import { z } from "zod";
import { limitParam } from "../http/params";

export const deliveryListQuery = z.object({ limit: limitParam(50), cursor: z.string().max(512).optional() });
export type DeliveryListQuery = z.input<typeof deliveryListQuery>;
