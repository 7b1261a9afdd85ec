/**
 * Every API route handler is wrapped here: authentication and the role check happen on
 * the server before the handler runs, errors leave in one shape, and nothing internal
 * (stack traces, SQL, secrets) reaches the client.
 */
import { z } from "zod";
import { authenticate, roleAtLeast, type Principal, type Role } from "../auth";
import { logger } from "../log";
import { ApiError, errorResponse } from "./errors";

export interface RouteContext<P> {
  principal: Principal | null;
  params: P;
}

type Handler<P> = (req: Request, ctx: RouteContext<P>) => Promise<Response>;

/** role null: public (health only). */
export function apiRoute<P = Record<string, never>>(role: Role | null, handler: Handler<P>) {
  return async (req: Request, next?: { params?: Promise<P> }): Promise<Response> => {
    try {
      let principal: Principal | null = null;
      if (role !== null) {
        principal = await authenticate(req);
        if (!principal) throw new ApiError(401, "unauthenticated", "sign in or send a bearer API key");
        if (!roleAtLeast(principal.role, role)) throw new ApiError(403, "forbidden", `this needs the ${role} role`);
      }
      const params = ((await next?.params) ?? {}) as P;
      return await handler(req, { principal, params });
    } catch (err) {
      if (err instanceof ApiError) return errorResponse(err);
      if (err instanceof z.ZodError) {
        const issue = err.issues[0];
        const param = issue.path.join(".");
        return errorResponse(new ApiError(400, "invalid_parameter", `${param}: ${issue.message}`, param));
      }
      logger().error({ err: (err as Error).message, path: new URL(req.url).pathname }, "unhandled API error");
      return errorResponse(new ApiError(500, "internal", "internal error"));
    }
  };
}

/** Parses URLSearchParams against a zod object schema; a bad value is a 400 naming the parameter. */
export function parseQuery<S extends z.ZodType>(req: Request, schema: S): z.infer<S> {
  const url = new URL(req.url);
  const raw: Record<string, string> = {};
  for (const [k, v] of url.searchParams) raw[k] = v;
  return schema.parse(raw);
}

/** Reads a JSON body; a body that is not JSON is a 400 with a clear message. */
export async function readJson(req: Request, maxBytes = 5 * 1024 * 1024): Promise<unknown> {
  const text = await req.text();
  if (Buffer.byteLength(text) > maxBytes) throw new ApiError(413, "payload_too_large", `the body exceeds ${maxBytes} bytes`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, "invalid_json", `the body is not valid JSON: ${(err as Error).message}`);
  }
}
