/**
 * fetch() for a transmitter's URLs (discovery document, JWKS, poll and verification
 * endpoints) under the address rules of webhook delivery (lib/webhooks/ssrf.ts), applied to
 * the address actually connected to: the name is resolved through vettedLookup(), which
 * hands the socket only allowed addresses, and the connected address is checked again. A
 * check of the URL before the request (vetUrl) alone would let a DNS answer that changes
 * between the check and the connection (DNS rebinding) reach an internal address.
 *
 * node:http rather than the global fetch, as lib/webhooks/send.ts does: it takes a custom
 * lookup, and it reads no proxy settings from the environment. What it returns is a standard
 * Response, so callers, and jose's remote key set, use it as they would fetch. Redirects are
 * not followed (an error, as `redirect: "error"` makes fetch do), each request opens a fresh
 * connection, and a body larger than `maxBytes` is an error.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { config } from "../config";
import { bareHost, hostAllowlisted, literalRefusal, parseAllowlist, refuseDisallowedConnection, SsrfError, vetUrl, vettedLookup, type Allowlist } from "../webhooks/ssrf";

/** The allow-list of the transmitters' addresses, named in every refusal. */
const SETTING = "SSF_ALLOWLIST";

/** A transmitter's answers are small: a discovery document, a key set, a page of SETs. */
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
/** A request without a signal of its own still ends: no transmitter can hold a caller forever. */
const DEFAULT_TIMEOUT_MS = 30_000;

export interface VettedInit {
  method?: string;
  headers?: Record<string, string> | Headers;
  body?: string;
  /** Ends the request; DEFAULT_TIMEOUT_MS when none is given. */
  signal?: AbortSignal;
  maxBytes?: number;
  /** SSF_ALLOWLIST unless given. */
  allow?: Allowlist;
  /** dns.lookup unless a test injects its own resolver. */
  lookup?: LookupFunction;
}

/**
 * Checks a transmitter's URL before it is used or stored (a stream's issuer and poll URL, the
 * jwks_uri and verification_endpoint its discovery names), for an early, named refusal; each
 * request is checked again by vettedFetch.
 */
export function vetTransmitterUrl(url: string): Promise<URL> {
  return vetUrl(url, parseAllowlist(config().SSF_ALLOWLIST), undefined, SETTING);
}

/** Statuses whose Response may carry no body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

export function vettedFetch(input: string | URL, init: VettedInit = {}): Promise<Response> {
  const signal = init.signal ?? AbortSignal.timeout(DEFAULT_TIMEOUT_MS);
  return new Promise<Response>((resolve, reject) => {
    const url = new URL(input);
    if (url.protocol !== "http:" && url.protocol !== "https:") return reject(new SsrfError("only http and https URLs are allowed"));
    const allow = init.allow ?? parseAllowlist(config().SSF_ALLOWLIST);
    const host = bareHost(url);
    const refusal = literalRefusal(host, allow, SETTING);
    if (refusal) return reject(new SsrfError(refusal));
    if (signal.aborted) return reject(signal.reason);
    const maxBytes = init.maxBytes ?? DEFAULT_MAX_BYTES;
    let settled = false;
    const headers = init.headers instanceof Headers ? Object.fromEntries(init.headers.entries()) : { ...init.headers };
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    const transport = url.protocol === "https:" ? https : http;
    const req = transport.request(url, { method: init.method ?? "GET", headers, lookup: vettedLookup(allow, init.lookup, SETTING), agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.resume();
        return fail(new Error(`redirect to ${String(res.headers.location ?? "?").slice(0, 200)} not followed`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          fail(new Error(`answer larger than ${maxBytes} bytes`));
          return req.destroy();
        }
        chunks.push(chunk);
      });
      res.on("end", () => {
        if (settled) return;
        // Built inside try: whatever a transmitter answers must reject this request, never
        // throw out of an event listener (which would end the process).
        let response: Response;
        try {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v);
          }
          response = new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), { status, headers: responseHeaders });
        } catch (err) {
          return fail(err as Error);
        }
        settle();
        resolve(response);
      });
      res.on("error", fail);
    });
    refuseDisallowedConnection(req, allow, hostAllowlisted(host, allow), SETTING);
    req.on("error", fail);
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    function settle() {
      settled = true;
      signal.removeEventListener("abort", onAbort);
    }
    function fail(err: Error) {
      if (settled) return;
      settle();
      reject(err);
    }
    req.end(init.body);
  });
}
