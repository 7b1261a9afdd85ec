/**
 * Sign-in with the company's identity provider: OpenID Connect, authorization code flow
 * with PKCE (S256), state and nonce, through `openid-client`.
 *
 * - The provider's metadata comes from discovery (REVENANT_OIDC_ISSUER), cached per process.
 * - The role comes from one claim (REVENANT_OIDC_ROLE_CLAIM, default `groups`) of the ID
 *   token or the userinfo answer, mapped by REVENANT_OIDC_ROLE_MAP; the highest mapped
 *   role wins; none mapped: REVENANT_OIDC_DEFAULT_ROLE, or the sign-in is refused. The
 *   role is re-read at every sign-in, so a change of groups at the provider takes effect
 *   at the next sign-in.
 * - People are matched by verified email and created on first sign-in (just in time),
 *   without a password: they cannot use password sign-in until an admin sets one.
 */
import * as client from "openid-client";
import { config, type Config } from "../config";
import { ROLES, roleAtLeast, type Role } from "./roles";

export class OidcRefusedError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the browser carries between the redirect out and the callback (an HttpOnly cookie). */
export interface OidcFlow {
  state: string;
  nonce: string;
  verifier: string;
  next: string;
}

export const FLOW_COOKIE = "revenant_oidc";
export const FLOW_MAX_AGE_SECONDS = 600;

export function oidcEnabled(cfg: Config = config()): boolean {
  return Boolean(cfg.REVENANT_OIDC_ISSUER && cfg.REVENANT_OIDC_CLIENT_ID && cfg.REVENANT_PUBLIC_URL);
}

export function redirectUri(cfg: Config = config()): string {
  return new URL("/api/v1/auth/oidc/callback", cfg.REVENANT_PUBLIC_URL).toString();
}

const cacheKey = Symbol.for("revenant.oidcConfig");
type WithOidc = typeof globalThis & { [cacheKey]?: { id: string; at: number; value: Promise<client.Configuration> } };

async function provider(cfg: Config = config()): Promise<client.Configuration> {
  const g = globalThis as WithOidc;
  const id = `${cfg.REVENANT_OIDC_ISSUER}|${cfg.REVENANT_OIDC_CLIENT_ID}`;
  const hit = g[cacheKey];
  if (hit && hit.id === id && Date.now() - hit.at < 10 * 60_000) return hit.value;
  const value = client.discovery(
    new URL(cfg.REVENANT_OIDC_ISSUER!),
    cfg.REVENANT_OIDC_CLIENT_ID!,
    cfg.REVENANT_OIDC_CLIENT_SECRET,
    undefined,
    cfg.REVENANT_OIDC_ALLOW_HTTP ? { execute: [client.allowInsecureRequests] } : undefined,
  );
  g[cacheKey] = { id, at: Date.now(), value };
  value.catch(() => {
    if (g[cacheKey]?.value === value) delete g[cacheKey];
  });
  return value;
}

export async function startSignIn(next: string): Promise<{ url: URL; flow: OidcFlow }> {
  const cfg = config();
  const conf = await provider(cfg);
  const flow: OidcFlow = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier(), next };
  const url = client.buildAuthorizationUrl(conf, {
    redirect_uri: redirectUri(cfg),
    scope: cfg.REVENANT_OIDC_SCOPES,
    code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
    code_challenge_method: "S256",
    state: flow.state,
    nonce: flow.nonce,
  });
  return { url, flow };
}

/** The highest role that the claim's values map to, or the default, or null. */
export function mapRole(claims: Record<string, unknown>, cfg: Config = config()): Role | null {
  const raw = claims[cfg.REVENANT_OIDC_ROLE_CLAIM];
  const values = (Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw]).filter((v): v is string => typeof v === "string");
  let best: Role | null = null;
  for (const v of values) {
    const role = cfg.REVENANT_OIDC_ROLE_MAP[v] ?? ((ROLES as readonly string[]).includes(v) ? (v as Role) : undefined);
    if (role && (!best || roleAtLeast(role, best))) best = role;
  }
  return best ?? cfg.REVENANT_OIDC_DEFAULT_ROLE ?? null;
}

/** Exchanges the code (checking state, nonce and PKCE) and returns who signed in, with their role. */
export async function finishSignIn(callback: URL, flow: OidcFlow): Promise<{ email: string; subject: string; role: Role; emailVerified: boolean }> {
  const cfg = config();
  const conf = await provider(cfg);
  // The redirect URI as registered, with the query the provider sent: behind a proxy the
  // request's own URL may name another host or scheme.
  const current = new URL(redirectUri(cfg));
  current.search = callback.search;
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(conf, current, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
  } catch (err) {
    throw new OidcRefusedError("code_exchange_failed", `the identity provider's answer was refused: ${(err as Error).message}`);
  }
  const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
  let claims: Record<string, unknown> = idClaims;
  if (conf.serverMetadata().userinfo_endpoint) {
    let info: Record<string, unknown>;
    try {
      info = await client.fetchUserInfo(conf, tokens.access_token, String(idClaims.sub));
    } catch (err) {
      // A refusal like the code exchange's: the browser goes back to the sign-in page with the reason.
      throw new OidcRefusedError("userinfo_failed", `the identity provider's user info was refused: ${(err as Error).message}`);
    }
    claims = { ...idClaims, ...info };
  }
  const email = typeof claims.email === "string" ? claims.email.trim().toLowerCase() : "";
  if (!email) throw new OidcRefusedError("no_email", "the identity provider sent no email address (request the email scope)");
  // Some providers send the claim as a string.
  if (claims.email_verified === false || claims.email_verified === "false") {
    throw new OidcRefusedError("email_not_verified", "the identity provider says this email address is not verified");
  }
  const role = mapRole(claims, cfg);
  if (!role) throw new OidcRefusedError("no_role", `no role maps from the ${cfg.REVENANT_OIDC_ROLE_CLAIM} claim`);
  return { email, subject: String(claims.sub), role, emailVerified: claims.email_verified === true || claims.email_verified === "true" };
}

export function encodeFlow(flow: OidcFlow): string {
  return Buffer.from(JSON.stringify(flow)).toString("base64url");
}

export function decodeFlow(text: string | null): OidcFlow | null {
  if (!text) return null;
  try {
    const f = JSON.parse(Buffer.from(text, "base64url").toString()) as OidcFlow;
    return typeof f.state === "string" && typeof f.nonce === "string" && typeof f.verifier === "string" && typeof f.next === "string" ? f : null;
  } catch {
    return null;
  }
}
