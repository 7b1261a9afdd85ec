import { apiRoute } from "@/lib/http/route";
import { transmitter } from "@/lib/transmitter";

export const dynamic = "force-dynamic";

/** GET /ssf/jwks (public): the keys SETs are signed with, the newest first (lib/transmitter/keys.ts). */
export const GET = apiRoute(null, async () => {
  const keys = transmitter().keys;
  await keys.current(); // rotates when due, so the JWKS always lists the key that signs next
  return Response.json(await keys.jwks(), { headers: { "cache-control": "public, max-age=300" } });
});
