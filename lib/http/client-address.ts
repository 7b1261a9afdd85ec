/**
 * Who is calling, as far as the network can tell.
 *
 * X-Forwarded-For is a list each proxy appends to; only the entries written by proxies we
 * run can be believed, and the left part is whatever the client chose to send. The server
 * appends the connecting peer itself (installPeerHook, called from instrumentation.ts),
 * so the list always ends with an address nobody could forge. With
 * REVENANT_TRUSTED_PROXIES = N, the last N entries were written by (or are) our proxies
 * and the client is the entry just before them.
 */
import type { IncomingMessage, Server } from "node:http";
import http from "node:http";
import { config } from "../config";

const PEER_HEADER = "x-revenant-peer";

function unmap(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** The right-most X-Forwarded-For entry not written by one of `trusted` proxies; "" when unknown. */
export function clientAddress(req: Request | null | undefined, trusted = config().REVENANT_TRUSTED_PROXIES): string {
  if (!req) return "";
  const hops = (req.headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (hops.length === 0) return unmap(req.headers.get(PEER_HEADER) ?? "").slice(0, 64);
  return unmap(hops[Math.max(0, hops.length - 1 - trusted)]).slice(0, 64);
}

/** Appends the socket's address to X-Forwarded-For before any handler reads the request. */
export function stampPeer(req: IncomingMessage): void {
  const peer = unmap(req.socket?.remoteAddress ?? "");
  const prior = req.headers["x-forwarded-for"];
  const list = (Array.isArray(prior) ? prior.join(",") : (prior ?? "")).trim();
  req.headers["x-forwarded-for"] = peer ? (list ? `${list}, ${peer}` : peer) : list;
  req.headers[PEER_HEADER] = peer;
}

const installed = Symbol.for("revenant.peerHook");
type Patched = typeof http.Server.prototype & { [installed]?: boolean };

/**
 * Next.js's `next start` owns the HTTP server; it only fills X-Forwarded-For when the
 * client sent none, so a client could name any address. Hooking the server's "request"
 * event stamps the peer first, once per process.
 */
export function installPeerHook(): void {
  const proto = http.Server.prototype as Patched;
  if (proto[installed]) return;
  proto[installed] = true;
  const emit = proto.emit;
  proto.emit = function (this: Server, event: string | symbol, ...args: unknown[]) {
    if (event === "request" && args[0]) stampPeer(args[0] as IncomingMessage);
    return (emit as (this: Server, e: string | symbol, ...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof proto.emit;
}
