/**
 * Server-side request forgery protection for webhook URLs.
 *
 * A webhook may only reach a public unicast address, unless the operator allow-list
 * (REVENANT_WEBHOOK_ALLOWLIST: hosts or CIDRs) permits it. The check is made on the
 * address actually connected to: the sender resolves the name through vettedLookup(),
 * which drops every disallowed address before the socket sees it (so a DNS answer that
 * changes between a check and the connection cannot slip through), and checks the
 * socket's remote address again once connected.
 *
 * A host name in the allow-list does not switch the address checks off: the addresses it
 * resolves to must still be public, inside an allow-listed CIDR or address, or in a
 * private network range (RFC 1918, IPv6 unique-local, carrier-grade NAT), which is what
 * naming an internal host is for. Loopback, link-local (cloud metadata), unspecified,
 * multicast and reserved addresses need an explicit CIDR or address entry.
 */
import dns from "node:dns";
import type { ClientRequest } from "node:http";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";

export class SsrfError extends Error {
  readonly code = "ssrf_refused";
}

export interface Allowlist {
  hosts: Set<string>;
  ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

export function parseAllowlist(entries: string[]): Allowlist {
  const list: Allowlist = { hosts: new Set(), ranges: [] };
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry.includes("/")) {
      try {
        const [addr, bits] = ipaddr.parseCIDR(entry);
        list.ranges.push([normalize(addr), addr.kind() === "ipv6" && normalize(addr).kind() === "ipv4" ? Math.max(0, bits - 96) : bits]);
        continue;
      } catch {
        // not a CIDR: treat as a host name below
      }
    }
    const bare = entry.replace(/^\[|\]$/g, "");
    if (ipaddr.isValid(bare)) {
      const a = normalize(ipaddr.parse(bare));
      list.ranges.push([a, a.kind() === "ipv4" ? 32 : 128]);
    } else {
      list.hosts.add(entry);
    }
  }
  return list;
}

/**
 * IPv6 forms that carry an IPv4 address are judged as that IPv4 address: IPv4-mapped
 * (::ffff:127.0.0.1), IPv4-translated (::ffff:0:127.0.0.1) and the deprecated
 * IPv4-compatible form (::127.0.0.1, which URL parsing turns into ::7f00:1 and which
 * ipaddr.js would otherwise call plain unicast). :: and ::1 stay what they are.
 */
function normalize(a: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  if (a.kind() !== "ipv6") return a;
  const v6 = a as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const p = v6.parts;
  const zeroPrefix = p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0;
  const compatible = zeroPrefix && p[4] === 0 && p[5] === 0 && (p[6] !== 0 || p[7] > 1);
  const translated = zeroPrefix && p[4] === 0xffff && p[5] === 0;
  if (compatible || translated) return ipaddr.fromByteArray([p[6] >> 8, p[6] & 0xff, p[7] >> 8, p[7] & 0xff]);
  return a;
}

/** Ranges an allow-listed host name may resolve to without a CIDR entry. */
const PRIVATE_NETWORK_RANGES = new Set(["private", "uniqueLocal", "carrierGradeNat"]);

/**
 * Public means ipaddr.js classifies it as plain "unicast": loopback, private, link-local
 * (169.254.0.0/16: cloud metadata), unique-local, carrier-grade NAT (100.64/10: Alibaba's
 * metadata), unspecified, multicast, reserved, and the IPv6 transition ranges that can embed
 * an IPv4 address (6to4, Teredo, NAT64) are all refused.
 */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  return normalize(ipaddr.parse(ip)).range() === "unicast";
}

/** `byName`: the URL's host is an allow-listed name, which also admits private network ranges. */
export function addressAllowed(ip: string, allow: Allowlist, byName = false): boolean {
  if (!ipaddr.isValid(ip)) return false;
  const a = normalize(ipaddr.parse(ip));
  if (a.range() === "unicast") return true;
  if (byName && PRIVATE_NETWORK_RANGES.has(a.range())) return true;
  return allow.ranges.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits));
}

export function hostAllowlisted(hostname: string, allow: Allowlist): boolean {
  return allow.hosts.has(hostname.toLowerCase().replace(/\.$/, ""));
}

/** The URL's host without IPv6 brackets. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

/**
 * A lookup for http.request that only ever hands out allowed addresses. `base` is
 * dns.lookup unless a test injects its own resolver; `setting` is the allow-list a refusal
 * tells the operator to extend (the Shared Signals intake has its own, lib/ssf/vetted-fetch.ts).
 */
export function vettedLookup(allow: Allowlist, base: LookupFunction = dns.lookup as unknown as LookupFunction, setting = "REVENANT_WEBHOOK_ALLOWLIST"): LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    const byName = hostAllowlisted(hostname, allow);
    base(hostname, { ...options, all: true }, (err, result) => {
      if (err) return callback(err, "", 0);
      const addresses = (Array.isArray(result) ? result : [{ address: result as unknown as string, family: 4 }]) as dns.LookupAddress[];
      const ok = addresses.filter((a) => addressAllowed(a.address, allow, byName));
      if (ok.length === 0) {
        const hint = byName ? "allow-list the address or its CIDR too" : `allow it with ${setting}`;
        return callback(new SsrfError(`${hostname} resolves only to non-public addresses (${addresses.map((a) => a.address).join(", ")}); ${hint}`), "", 0);
      }
      if (options.all) callback(null, ok);
      else callback(null, ok[0].address, ok[0].family);
    });
  }) as LookupFunction;
}

/**
 * Why a URL whose host is an IP literal may not be reached, or null (a literal never goes
 * through the lookup, so senders check it before they connect). Host names: null.
 */
export function literalRefusal(host: string, allow: Allowlist, setting = "REVENANT_WEBHOOK_ALLOWLIST"): string | null {
  return ipaddr.isValid(host) && !addressAllowed(host, allow) ? `${host} is not a public address; allow it with ${setting}` : null;
}

/**
 * Belt and braces for a request whose lookup is vettedLookup: once its socket connects, the
 * address actually connected to must be allowed too, or the request is destroyed with an
 * SsrfError. `byName`: the URL's host is an allow-listed name (hostAllowlisted).
 */
export function refuseDisallowedConnection(req: ClientRequest, allow: Allowlist, byName: boolean, setting = "REVENANT_WEBHOOK_ALLOWLIST"): void {
  req.on("socket", (socket) => {
    socket.on("connect", () => {
      const remote = socket.remoteAddress;
      if (!remote || !addressAllowed(remote, allow, byName)) req.destroy(new SsrfError(`connected address ${remote} is not allowed; allow it with ${setting}`));
    });
  });
}

/**
 * Checks a URL before it is stored (the sender checks again at every attempt). `setting`: the
 * allow-list a refusal names, as for vettedLookup.
 */
export async function vetUrl(raw: string, allow: Allowlist, base?: LookupFunction, setting = "REVENANT_WEBHOOK_ALLOWLIST"): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SsrfError("not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new SsrfError("only http and https URLs are allowed");
  if (url.username || url.password) throw new SsrfError("credentials in the URL are not allowed");
  const host = bareHost(url);
  const refusal = literalRefusal(host, allow, setting);
  if (refusal) throw new SsrfError(refusal);
  if (ipaddr.isValid(host)) return url; // an allowed literal: nothing to resolve
  await new Promise<void>((resolve, reject) => {
    vettedLookup(allow, base, setting)(host, { all: true }, (err) => (err ? reject(err instanceof SsrfError ? err : new SsrfError(`cannot resolve ${host}: ${err.code ?? err.message}`)) : resolve()));
  });
  return url;
}
