import { apiRoute } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/** GET /api/v1/auth/me: who is calling: {kind: "user" | "api_key", id, name, role}. */
export const GET = apiRoute("viewer", async (_req, { principal }) => {
  return Response.json(principal, { headers: { "cache-control": "no-store" } });
});
