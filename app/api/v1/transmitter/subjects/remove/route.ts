import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { apiRoute, readJson } from "@/lib/http/route";
import { transmitter } from "@/lib/transmitter";
import { streamIdSchema, streamOr404, subjectSchema } from "@/lib/transmitter/requests";

export const dynamic = "force-dynamic";

const body = z.object({ stream_id: streamIdSchema, subject: subjectSchema, verified: z.boolean().optional() });

/**
 * POST /api/v1/transmitter/subjects/remove (admin, SSF 1.0 Remove Subject): the stream receives
 * no SETs about the subject (a credential or session id) until it is added again. 204.
 */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const { stream_id, subject } = body.parse(await readJson(req));
  const s = await streamOr404(stream_id);
  const subjects = s.subjects.filter((x) => x !== subject.id);
  await transmitter().streams.put({ ...s, subjects, excluded_subjects: [...new Set([...s.excluded_subjects, subject.id])] });
  await audit(principal, "ssf.subject.remove", stream_id, { subject: subject.id }, req);
  return new Response(null, { status: 204 });
});
