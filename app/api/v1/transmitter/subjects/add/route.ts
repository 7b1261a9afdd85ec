import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { apiRoute, readJson } from "@/lib/http/route";
import { transmitter } from "@/lib/transmitter";
import { streamIdSchema, streamOr404, subjectSchema } from "@/lib/transmitter/requests";

export const dynamic = "force-dynamic";

const body = z.object({ stream_id: streamIdSchema, subject: subjectSchema, verified: z.boolean().optional() });

/**
 * POST /api/v1/transmitter/subjects/add (admin, SSF 1.0 Add Subject): the stream receives SETs
 * about the subject (a credential or session id) again if it was removed. Streams include every
 * subject by default (default_subjects "ALL"), so adding never narrows a stream. 200.
 */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const { stream_id, subject } = body.parse(await readJson(req));
  const s = await streamOr404(stream_id);
  const subjects = [...new Set([...s.subjects, subject.id])];
  await transmitter().streams.put({ ...s, subjects, excluded_subjects: s.excluded_subjects.filter((x) => x !== subject.id) });
  await audit(principal, "ssf.subject.add", stream_id, { subject: subject.id }, req);
  return new Response(null, { status: 200 });
});
