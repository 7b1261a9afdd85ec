import { z } from "zod";
import { apiRoute, readJson } from "@/lib/http/route";
import { notFound } from "@/lib/http/errors";
import { AlertStore, ALERT_STATUSES } from "@/lib/alerts/store";
import { announceAlertChanges } from "@/lib/alerts/bus";
import { store } from "@/lib/store/clickhouse";
import { audit } from "@/lib/auth/audit";

export const dynamic = "force-dynamic";

export const GET = apiRoute<{ id: string }>("viewer", async (_req, { params }) => {
  const alerts = new AlertStore(store().reader);
  const alert = await alerts.get(params.id);
  if (!alert) throw notFound("alert");
  return Response.json({ ...alert, history: await alerts.history(params.id) });
});

const patch = z.object({ status: z.enum(ALERT_STATUSES), comment: z.string().max(4000).optional() }).strict();

/** Acknowledge, resolve or re-open an alert (analyst and above); the change is kept in its history. */
export const PATCH = apiRoute<{ id: string }>("analyst", async (req, { params, principal }) => {
  const body = patch.parse(await readJson(req));
  const alerts = new AlertStore(store().writer);
  const updated = await alerts.setStatus(params.id, body.status, principal!.name, body.comment ?? "");
  if (!updated) throw notFound("alert");
  await audit(principal, "alert.status", params.id, { status: body.status, comment: body.comment ?? "" }, req);
  const history = await alerts.history(params.id);
  announceAlertChanges(history.slice(-1));
  return Response.json({ ...updated, history });
});
