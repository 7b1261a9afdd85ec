/**
 * Every API route handler is wrapped here: authentication and the role check happen on
 * the server before the handler runs, errors leave in one shape, and nothing internal
 * (stack traces, SQL, secrets) reaches the client.
 *
 * Also here, so that no route can forget them:
 * - CSRF: a cookie-authenticated request other than GET/HEAD/OPTIONS must send the
 *   `revenant_csrf` cookie's value in the `x-csrf-token` header (double submit). Bearer
 *   requests are exempt: browsers never attach Authorization headers on their own.
 * - Request size: a declared Content-Length above the limit is refused before reading;
 *   readJson() enforces the same limit while streaming, for chunked bodies.
 * - Rate limits: POST /api/v1/events per caller (see RATE_LIMITED below); sign-in has its
 *   own limits in the login route (per address and per email); failed authentications
 *   are limited in lib/auth (per address and per key prefix).
 * - Audit: 401, 403 (role, CSRF) and 429 answers are recorded (lib/auth/audit.ts), and an
 *   admin change whose audit row cannot be written is refused with 503.
 */
import { z } from "zod";
import { authenticate, AuthRateLimitedError, roleAtLeast, type Principal, type Role } from "../auth";
import { CSRF_COOKIE, CSRF_HEADER, readCsrfCookie } from "../auth/cookies";
import { sameSecret } from "../auth/crypto";
import { config } from "../config";
import { logger } from "../log";
import { AuditWriteError, auditRefusal } from "../auth/audit";
import { SecretKeyMissingError } from "../auth/secret-box";
import { ApiError, errorResponse, rateLimited, readLimitError } from "./errors";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "./json-depth";
import { takeToken } from "./rate-limit";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Refusals that go to the audit log (failed sign-ins are recorded by the sign-in routes themselves). */
const REFUSALS = new Set(["unauthenticated", "forbidden", "csrf", "rate_limited"]);

/** The body limit for a request: events ingestion accepts arrays, so it gets the larger one. */
export function bodyLimit(req: Request): number {
  const cfg = config();
  const p = new URL(req.url).pathname;
  return p === "/api/v1/events" || p === "/v1/traces" ? cfg.REVENANT_EVENTS_MAX_BODY_BYTES : cfg.REVENANT_MAX_BODY_BYTES;
}

function checkCsrf(req: Request): void {
  const cookie = readCsrfCookie(req);
  const header = req.headers.get(CSRF_HEADER);
  if (!cookie || !header || !sameSecret(cookie, header)) {
    throw new ApiError(403, "csrf", `cookie-authenticated changes need the ${CSRF_HEADER} header (the value of the ${CSRF_COOKIE} cookie)`);
  }
}

function checkRateLimit(req: Request, principal: Principal | null): void {
  if (req.method !== "POST" || new URL(req.url).pathname !== "/api/v1/events") return;
  const wait = takeToken(`events:${principal?.kind}:${principal?.id}`, config().REVENANT_EVENTS_RATE_PER_MIN);
  if (wait > 0) throw rateLimited("too many requests", wait);
}

function checkDeclaredSize(req: Request): void {
  const declared = Number(req.headers.get("content-length") ?? "0");
  const limit = bodyLimit(req);
  if (Number.isFinite(declared) && declared > limit) throw new ApiError(413, "payload_too_large", `the body exceeds ${limit} bytes`);
}

export interface RouteContext<P> {
  principal: Principal | null;
  /** The path's dynamic segments, decoded once by Next.js: used as given, never decoded again (an id may hold a "%"). */
  params: P;
}

type Handler<P> = (req: Request, ctx: RouteContext<P>) => Promise<Response>;

export type RouteHandler = ((req: Request, next?: { params?: Promise<unknown> }) => Promise<Response>) & {
  /** The least role the route needs (null: public). Read by the route-table test. */
  readonly requiredRole: Role | null;
};

/** role null: public (health and sign-in only). */
export function apiRoute<P = Record<string, never>>(role: Role | null, handler: Handler<P>): RouteHandler {
  const wrapped = async (req: Request, next?: { params?: Promise<unknown> }): Promise<Response> => {
    let principal: Principal | null = null;
    try {
      if (role !== null) {
        principal = await authenticate(req);
        if (!principal) throw new ApiError(401, "unauthenticated", "sign in or send a bearer API key");
        if (!roleAtLeast(principal.role, role)) throw new ApiError(403, "forbidden", `this needs the ${role} role`);
        if (principal.kind === "user" && !SAFE_METHODS.has(req.method)) checkCsrf(req);
        checkRateLimit(req, principal);
      }
      if (!SAFE_METHODS.has(req.method)) checkDeclaredSize(req);
      const params = ((await next?.params) ?? {}) as P;
      return await handler(req, { principal, params });
    } catch (thrown) {
      let err = thrown;
      if (err instanceof AuthRateLimitedError) err = rateLimited("too many failed authentications", err.retryAfter);
      if (err instanceof AuditWriteError) err = new ApiError(503, "audit_unavailable", "the audit log cannot be written, so the change was not made; retry later", undefined, 5);
      if (err instanceof SecretKeyMissingError) {
        err = new ApiError(409, "secret_unavailable", `${err.message}: configure that key as REVENANT_SECRET_KEY_PREVIOUS, or delete the webhook endpoint (SSF stream: give it new tokens)`);
      }
      if (err instanceof ApiError) {
        if (REFUSALS.has(err.code)) await auditRefusal(principal, req, err.status, err.code);
        return errorResponse(err);
      }
      if (err instanceof z.ZodError) return errorResponse(invalidParameter(err));
      const limited = readLimitError(err);
      if (limited) {
        logger().warn({ code: limited.code, path: new URL(req.url).pathname }, "API read stopped by a read limit");
        return errorResponse(limited);
      }
      logger().error({ err: (err as Error).message, path: new URL(req.url).pathname }, "unhandled API error");
      return errorResponse(new ApiError(500, "internal", "internal error"));
    }
  };
  return Object.assign(wrapped, { requiredRole: role });
}

/**
 * A validation failure as a 400 naming the parameter: the first issue's path, or for a field
 * that is not accepted, the field itself. A body-level issue (nothing to change) names none.
 */
function invalidParameter(err: z.ZodError): ApiError {
  const issue = err.issues[0];
  const path = issue.code === "unrecognized_keys" ? [...issue.path, ...issue.keys.slice(0, 1)] : issue.path;
  const param = path.map(String).join(".");
  return new ApiError(400, "invalid_parameter", param ? `${param}: ${issue.message}` : issue.message, param || undefined);
}

/** Parses URLSearchParams against a zod object schema; a bad value is a 400 naming the parameter. */
export function parseQuery<S extends z.ZodType>(req: Request, schema: S): z.infer<S> {
  const url = new URL(req.url);
  const raw: Record<string, string> = {};
  for (const [k, v] of url.searchParams) raw[k] = v;
  return schema.parse(raw);
}

/**
 * Reads a JSON body; a body that is not JSON is a 400 with a clear message. The body is
 * read as a stream and abandoned as soon as it passes the limit (default: the route's
 * configured limit), so a huge body costs no more memory than the limit.
 */
export async function readJson(req: Request, maxBytes = bodyLimit(req)): Promise<unknown> {
  const text = await readText(req, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, "invalid_json", `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (nestedDeeperThan(value)) throw new ApiError(400, "too_deeply_nested", `the body nests objects or arrays deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

async function readText(req: Request, maxBytes: number): Promise<string> {
  return (await readBytes(req, maxBytes)).toString("utf8");
}

/** The raw body, abandoned as soon as it passes maxBytes (a 413). */
export async function readBytes(req: Request, maxBytes = bodyLimit(req)): Promise<Buffer> {
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new ApiError(413, "payload_too_large", `the body exceeds ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
