/**
 * Security Event Token verification (RFC 8417, SSF 1.0): the transmitter's keys come from
 * the jwks_uri of its /.well-known/ssf-configuration, fetched with jose's remote key set
 * (cached; refetched when a token names a kid it does not hold, e.g. after key rotation).
 *
 * Strict: header typ secevent+jwt, iss = the stream's issuer (as the stream or the
 * transmitter's metadata spells it: they may differ by a trailing slash), aud contains the stream's
 * audience, a valid signature with an asymmetric algorithm, jti and iat present, no sub and
 * no exp (SSF forbids both), exactly one event.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload } from "jose";
import { config } from "../config";
import type { Stream } from "./streams";
import { vetTransmitterUrl, vettedFetch } from "./vetted-fetch";

/** RFC 8935 §2.3 error codes. */
export type SetErrorCode = "invalid_request" | "invalid_key" | "invalid_issuer" | "invalid_audience" | "authentication_failed" | "access_denied";

export class SetError extends Error {
  constructor(readonly err: SetErrorCode, description: string) {
    super(description);
  }
}

export interface VerifiedSet {
  payload: JWTPayload & { jti: string; iat: number; events: Record<string, Record<string, unknown>>; sub_id?: Record<string, unknown> };
  eventType: string;
  event: Record<string, unknown>;
}

const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

interface Discovery {
  issuer: string;
  jwks_uri: string;
  [k: string]: unknown;
}

type Cache = { discovery: Map<string, { at: number; value: Promise<Discovery> }>; jwks: Map<string, ReturnType<typeof createRemoteJWKSet>> };
const cacheKey = Symbol.for("revenant.ssf.cache");

/** One cache per process: route handlers and the worker are bundled apart, globalThis is shared. */
function cache(): Cache {
  const g = globalThis as typeof globalThis & { [cacheKey]?: Cache };
  g[cacheKey] ??= { discovery: new Map(), jwks: new Map() };
  return g[cacheKey]!;
}

/** Where SSF 1.0 puts the metadata: after the host, before the issuer's path. */
export function discoveryUrl(issuer: string): string {
  const u = new URL(issuer);
  const path = u.pathname.replace(/\/$/, "");
  return `${u.origin}/.well-known/ssf-configuration${path}`;
}

async function fetchDiscovery(issuer: string): Promise<Discovery> {
  const res = await vettedFetch(discoveryUrl(issuer), { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  const doc = (await res.json()) as Discovery;
  if (doc.issuer?.replace(/\/$/, "") !== issuer.replace(/\/$/, "")) throw new Error(`discovery names issuer ${doc.issuer}, not ${issuer}`);
  if (typeof doc.jwks_uri !== "string") throw new Error("discovery has no jwks_uri");
  // The keys are fetched from wherever the document says: the same address rules as the issuer.
  await vetTransmitterUrl(doc.jwks_uri);
  return doc;
}

export async function discover(issuer: string): Promise<Discovery> {
  const c = cache().discovery;
  const hit = c.get(issuer);
  if (hit && Date.now() - hit.at < config().SSF_METADATA_TTL_MS) return hit.value;
  const value = fetchDiscovery(issuer);
  c.set(issuer, { at: Date.now(), value });
  value.catch(() => c.delete(issuer));
  return value;
}

function keySet(jwksUri: string): ReturnType<typeof createRemoteJWKSet> {
  const c = cache().jwks;
  let set = c.get(jwksUri);
  if (!set) {
    set = createRemoteJWKSet(new URL(jwksUri), {
      cacheMaxAge: config().SSF_METADATA_TTL_MS,
      // After a rotation the first token with the new kid triggers a refetch; this bounds how
      // often unknown kids can make us refetch.
      cooldownDuration: config().SSF_JWKS_COOLDOWN_MS,
      timeoutDuration: 10_000,
      // The keys' address is vetted where the connection is made, not only when discovery named it.
      [customFetch]: (url, options) => vettedFetch(url, { method: options.method, headers: options.headers, signal: options.signal }),
    });
    c.set(jwksUri, set);
  }
  return set;
}

export async function verifySet(jwt: string, stream: Stream): Promise<VerifiedSet> {
  let discovery: Discovery;
  try {
    discovery = await discover(stream.issuer);
  } catch (err) {
    // Our side cannot check the token now: not the transmitter's fault, so no SET error.
    throw new Error(`SSF discovery for ${stream.issuer} failed: ${(err as Error).message}`);
  }
  const options = {
    // Stored without a trailing slash (lib/ssf/streams.ts); the transmitter signs `iss` as its
    // metadata names it (discovery checked they are the same issuer).
    issuer: [...new Set([stream.issuer, discovery.issuer])],
    audience: stream.audience,
    typ: "secevent+jwt",
    algorithms: ALGORITHMS,
  };
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(jwt, keySet(discovery.jwks_uri), options));
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw toSetError(err);
    payload = await verifyWithAnyOf(err, jwt, options);
  }
  if (payload.sub !== undefined) throw new SetError("invalid_request", "a SET must not carry sub (use sub_id)");
  if (payload.exp !== undefined) throw new SetError("invalid_request", "a SET must not carry exp");
  if (typeof payload.jti !== "string" || !payload.jti || payload.jti.length > 256) throw new SetError("invalid_request", "jti is missing or too long");
  if (typeof payload.iat !== "number") throw new SetError("invalid_request", "iat is missing");
  const events = payload.events as Record<string, Record<string, unknown>> | undefined;
  if (!events || typeof events !== "object" || Array.isArray(events)) throw new SetError("invalid_request", "events is missing");
  const types = Object.keys(events);
  if (types.length !== 1) throw new SetError("invalid_request", "a SET must carry exactly one event");
  const event = events[types[0]];
  if (!event || typeof event !== "object") throw new SetError("invalid_request", "the event must be an object");
  return { payload: payload as VerifiedSet["payload"], eventType: types[0], event };
}

/**
 * Several keys of the set match the token's header (no `kid`, or a `kid` reused across a
 * rotation): the token is the transmitter's if one of them verifies it (jose's documented way).
 */
async function verifyWithAnyOf(matching: errors.JWKSMultipleMatchingKeys, jwt: string, options: Parameters<typeof jwtVerify>[2]): Promise<JWTPayload> {
  for await (const key of matching) {
    try {
      return (await jwtVerify(jwt, key, options)).payload;
    } catch (err) {
      if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw toSetError(err);
    }
  }
  throw new SetError("invalid_key", "the signature does not verify with the transmitter's keys");
}

function toSetError(err: unknown): SetError | Error {
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "iss") return new SetError("invalid_issuer", "iss is not this stream's issuer");
    if (err.claim === "aud") return new SetError("invalid_audience", "aud does not name this receiver");
    if (err.claim === "typ") return new SetError("invalid_request", "the JWT header typ must be secevent+jwt");
    return new SetError("invalid_request", `claim ${err.claim}: ${err.reason}`);
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWSSignatureVerificationFailed) {
    return new SetError("invalid_key", "the signature does not verify with the transmitter's keys");
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new SetError("invalid_request", "the signing algorithm is not accepted");
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) {
    return new SetError("invalid_request", `not a valid signed JWT: ${(err as Error).message}`);
  }
  // The keys could not be had (a timeout, an answer other than 200, a body that is not a key
  // set): our side cannot check the token now, so the SET is delivered again, never refused.
  // jose reports a failed fetch with the plain JOSEError (ERR_JOSE_GENERIC), nothing else.
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || (err instanceof errors.JOSEError && err.code === "ERR_JOSE_GENERIC")) {
    return new Error(`transmitter keys unavailable: ${(err as Error).message}`);
  }
  if (err instanceof errors.JOSEError) return new SetError("invalid_request", (err as Error).message);
  return err as Error;
}
