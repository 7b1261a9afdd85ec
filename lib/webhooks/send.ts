/**
 * One HTTP attempt of a webhook delivery: POST, no redirects followed (a 3xx is a failed
 * attempt), the whole exchange bounded by a timeout, and only to vetted addresses
 * (./ssrf.ts). node:http rather than fetch: it accepts a custom lookup, and it reads no
 * proxy settings from the environment.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { bareHost, hostAllowlisted, literalRefusal, refuseDisallowedConnection, SsrfError, vettedLookup, type Allowlist } from "./ssrf";

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  error: string;
  durationMs: number;
  /** The address connected to, when a connection was made. */
  remoteAddress: string | null;
}

export interface SendOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allow: Allowlist;
  lookup?: LookupFunction;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

export function sendOnce(opts: SendOptions): Promise<AttemptResult> {
  const started = performance.now();
  const done = (r: Omit<AttemptResult, "durationMs">): AttemptResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
  return new Promise<AttemptResult>((resolve) => {
    let url: URL;
    try {
      url = new URL(opts.url);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new SsrfError("only http and https URLs are allowed");
    } catch (err) {
      return resolve(done({ ok: false, statusCode: null, error: (err as Error).message, remoteAddress: null }));
    }
    const host = bareHost(url);
    const refusal = literalRefusal(host, opts.allow);
    if (refusal) return resolve(done({ ok: false, statusCode: null, error: `refused: ${refusal}`, remoteAddress: null }));
    let settled = false;
    let remoteAddress: string | null = null;
    const finish = (r: Omit<AttemptResult, "durationMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const transport = url.protocol === "https:" ? https : http;
    const req = transport.request(
      url,
      {
        method: "POST",
        headers: { ...opts.headers, "content-length": String(Buffer.byteLength(opts.body)) },
        lookup: vettedLookup(opts.allow, opts.lookup),
        agent: false, // a fresh, vetted connection per attempt: no socket reused across endpoints
      },
      (res) => {
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) res.destroy();
        });
        const end = () => {
          const code = res.statusCode ?? 0;
          const ok = code >= 200 && code < 300;
          finish({ ok, statusCode: code, error: ok ? "" : code >= 300 && code < 400 ? `redirect to ${String(res.headers.location ?? "?").slice(0, 200)} not followed` : `HTTP ${code}`, remoteAddress });
        };
        res.on("end", end);
        res.on("close", end);
        res.on("error", end);
      },
    );
    req.on("socket", (socket) => socket.on("connect", () => (remoteAddress = socket.remoteAddress ?? null)));
    refuseDisallowedConnection(req, opts.allow, hostAllowlisted(host, opts.allow));
    req.on("error", (err) => {
      const msg = err instanceof SsrfError ? `refused: ${err.message.replace(/^refused: /, "")}` : ((err as NodeJS.ErrnoException).code ?? err.message);
      finish({ ok: false, statusCode: null, error: msg, remoteAddress });
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ ok: false, statusCode: null, error: `timeout after ${opts.timeoutMs} ms`, remoteAddress });
    }, opts.timeoutMs);
    req.end(opts.body);
  });
}
