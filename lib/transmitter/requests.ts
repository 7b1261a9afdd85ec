/** Request bodies and look-ups the SSF routes share (app/api/v1/transmitter/, app/ssf/). */
import { z } from "zod";
import { notFound } from "../http/errors";
import { transmitter } from "./index";
import type { Stream } from "./streams";

export const streamIdSchema = z.string().min(1).max(64);
/** SSF subject identifiers Revenant understands: credentials and sessions by opaque id. */
export const subjectSchema = z.object({ format: z.literal("opaque"), id: z.string().min(1).max(256) });

export async function streamOr404(id: string): Promise<Stream> {
  const stream = await transmitter().streams.get(id);
  if (!stream) throw notFound("stream");
  return stream;
}
