/**
 * Webhook sending rules without a database: SSRF refusals on the address actually
 * connected to (docs/WEBHOOKS.md), redirects not followed, the timeout, backoff and event types.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo, LookupFunction } from "node:net";
import { sendOnce } from "@/lib/webhooks/send";
import { addressAllowed, isPublicAddress, parseAllowlist, vetUrl } from "@/lib/webhooks/ssrf";
import { backoffMs, eventTypeFor } from "@/lib/webhooks/dispatcher";
import { endpointMatches, endpointPatch, type Endpoint } from "@/lib/webhooks/endpoints";
import { takeToken, resetRateLimits } from "@/lib/http/rate-limit";

/** A resolver that answers every name with the given addresses (what a hostile DNS would do). */
function fakeDns(...addresses: string[]): LookupFunction {
  return ((_host: string, opts: { all?: boolean }, cb: (err: Error | null, a: unknown, f?: number) => void) => {
    const list = addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    if (opts.all) cb(null, list);
    else cb(null, list[0].address, list[0].family);
  }) as unknown as LookupFunction;
}

describe("SSRF protection on the address connected to", () => {
  let server: http.Server;
  let port = 0;
  const hits: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(req.url ?? "");
      if (req.url === "/redirect") return res.writeHead(302, { location: "/target" }).end();
      if (req.url === "/hang") return; // never answers
      res.writeHead(200).end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const none = parseAllowlist([]);
  const send = (url: string, allow = none, lookup?: LookupFunction, timeoutMs = 2_000) => sendOnce({ url, headers: {}, body: "{}", timeoutMs, allow, lookup });

  const cases: [string, () => string, LookupFunction | undefined][] = [
    ["loopback literal", () => `http://127.0.0.1:${port}/x`, undefined],
    ["cloud metadata", () => "http://169.254.169.254/latest/meta-data/", undefined],
    ["IPv4-mapped IPv6 loopback", () => `http://[::ffff:127.0.0.1]:${port}/x`, undefined],
    ["IPv6 loopback", () => `http://[::1]:${port}/x`, undefined],
    ["IPv4-compatible IPv6 loopback", () => `http://[::127.0.0.1]:${port}/x`, undefined],
    ["IPv4-translated IPv6 loopback", () => `http://[::ffff:0:127.0.0.1]:${port}/x`, undefined],
    ["a name resolving to IPv4-compatible loopback", () => `http://hooks.example.test:${port}/x`, fakeDns("::7f00:1")],
    ["localhost (real DNS)", () => `http://localhost:${port}/x`, undefined],
    ["a name resolving to a private address", () => `http://hooks.example.test:${port}/x`, fakeDns("10.0.0.7")],
    ["a name resolving to loopback", () => `http://hooks.example.test:${port}/x`, fakeDns("127.0.0.1")],
    ["a name resolving to metadata", () => `http://metadata.example.test/x`, fakeDns("169.254.169.254")],
    ["a name resolving to NAT64-embedded loopback", () => `http://hooks.example.test:${port}/x`, fakeDns("64:ff9b::7f00:1")],
  ];
  it.each(cases)("refuses %s without the allow-list", async (_name, url, lookup) => {
    const before = hits.length;
    const r = await send(url(), none, lookup);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/refused|not public|non-public/);
    expect(hits.length).toBe(before); // nothing reached the server
  });

  it("refuses the same URLs when the endpoint is created", async () => {
    for (const [url, lookup] of [
      [`http://127.0.0.1:${port}/x`, undefined],
      ["http://169.254.169.254/", undefined],
      [`http://hooks.example.test/x`, fakeDns("192.168.1.1")],
      [`http://localhost/x`, undefined],
      ["http://[::127.0.0.1]/", undefined],
      ["http://[::169.254.169.254]/", undefined],
      ["http://[::a9fe:a9fe]/", undefined],
    ] as const) {
      await expect(vetUrl(url, none, lookup), url).rejects.toThrow();
    }
    await expect(vetUrl("https://hooks.example.test/x", none, fakeDns("93.184.216.34"))).resolves.toBeInstanceOf(URL);
  });

  it("allows what the allow-list names, by address, CIDR or host", async () => {
    expect((await send(`http://127.0.0.1:${port}/a`, parseAllowlist(["127.0.0.1"]))).ok).toBe(true);
    expect((await send(`http://localhost:${port}/b`, parseAllowlist(["127.0.0.0/8", "::1/128"]))).ok).toBe(true);
    expect((await send(`http://hooks.internal:${port}/c`, parseAllowlist(["hooks.internal", "127.0.0.1"]), fakeDns("127.0.0.1"))).ok).toBe(true);
    // Only the allowed address of a mixed answer is used.
    const mixed = await send(`http://hooks.example.test:${port}/d`, parseAllowlist(["127.0.0.1"]), fakeDns("10.9.9.9", "127.0.0.1"));
    expect(mixed.ok).toBe(true);
    expect(mixed.remoteAddress).toBe("127.0.0.1");
  });

  it("keeps the address checks for an allow-listed host name", async () => {
    const named = parseAllowlist(["hooks.internal"]);
    const before = hits.length;
    // The name is allowed, but loopback and cloud metadata behind it are not (no CIDR names them)…
    for (const ip of ["127.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "::7f00:1", "0.0.0.0"]) {
      const r = await send(`http://hooks.internal:${port}/n`, named, fakeDns(ip));
      expect(r.ok, ip).toBe(false);
      expect(r.error, ip).toMatch(/non-public/);
      await expect(vetUrl(`http://hooks.internal:${port}/n`, named, fakeDns(ip)), ip).rejects.toThrow(/non-public/);
    }
    expect(hits.length).toBe(before);
    // …while a private network address, what naming an internal host is for, is.
    await expect(vetUrl("http://hooks.internal/n", named, fakeDns("10.0.0.7"))).resolves.toBeInstanceOf(URL);
  });

  it("does not follow redirects", async () => {
    const before = hits.filter((h) => h === "/target").length;
    const r = await send(`http://127.0.0.1:${port}/redirect`, parseAllowlist(["127.0.0.1"]));
    expect(r).toMatchObject({ ok: false, statusCode: 302 });
    expect(r.error).toMatch(/redirect/);
    expect(hits.filter((h) => h === "/target").length).toBe(before);
  });

  it("times out", async () => {
    const r = await send(`http://127.0.0.1:${port}/hang`, parseAllowlist(["127.0.0.1"]), undefined, 300);
    expect(r.ok).toBe(false);
    expect(r.error).toBe("timeout after 300 ms");
    expect(r.durationMs).toBeGreaterThanOrEqual(290);
  });

  it("classifies addresses", () => {
    for (const ip of ["127.0.0.1", "10.0.0.1", "172.16.3.4", "192.168.0.1", "169.254.169.254", "100.100.100.200", "0.0.0.0", "::1", "fe80::1", "fd00:ec2::254", "::ffff:10.0.0.1", "224.0.0.1", "::127.0.0.1", "::7f00:1", "::a9fe:a9fe", "::ffff:0:7f00:1"]) {
      expect(isPublicAddress(ip), ip).toBe(false);
    }
    for (const ip of ["93.184.216.34", "8.8.8.8", "2606:4700::1111"]) expect(isPublicAddress(ip), ip).toBe(true);
    expect(addressAllowed("10.1.2.3", parseAllowlist(["10.0.0.0/8"]))).toBe(true);
    expect(addressAllowed("10.1.2.3", parseAllowlist(["10.2.0.0/16"]))).toBe(false);
  });
});

describe("delivery rules", () => {
  it("maps alert history kinds to the documented event types", () => {
    expect(eventTypeFor("raised")).toBe("alert.created");
    expect(eventTypeFor("resolved")).toBe("alert.resolved");
    for (const k of ["updated", "reopened", "acknowledged"]) expect(eventTypeFor(k)).toBe("alert.updated");
    expect(eventTypeFor("withdrawn")).toBeNull();
  });

  it("backs off exponentially with jitter, capped, and keeps retrying past 24 h", () => {
    const base = 5_000;
    const max = 3_600_000;
    for (let attempt = 1; attempt < 40; attempt++) {
      const full = Math.min(max, base * 2 ** (attempt - 1));
      expect(backoffMs(attempt, base, max, () => 0)).toBe(full / 2);
      expect(backoffMs(attempt, base, max, () => 1)).toBe(full);
    }
    // With the most eager jitter, the schedule of the defaults still spans more than 24 h in ~30 attempts.
    let t = 0;
    let attempts = 0;
    while (t < 24 * 3_600_000) t += backoffMs(++attempts, base, max, () => 0);
    expect(attempts).toBeLessThan(60);
  });

  it("matches endpoint filters", () => {
    const e: Endpoint = { id: "e", url: "", description: "", min_severity: "critical", rules: ["partial_containment"], pipelines: ["p1"], enabled: true, created_at: "", created_by: "", updated_at: "" };
    expect(endpointMatches(e, { severity: "critical", rule: "partial_containment", pipeline_id: "p1" })).toBe(true);
    expect(endpointMatches(e, { severity: "high", rule: "partial_containment", pipeline_id: "p1" })).toBe(false);
    expect(endpointMatches(e, { severity: "critical", rule: "post_revocation_activity", pipeline_id: "p1" })).toBe(false);
    expect(endpointMatches(e, { severity: "critical", rule: "partial_containment", pipeline_id: null })).toBe(false);
    expect(endpointMatches({ ...e, enabled: false }, { severity: "critical", rule: "partial_containment", pipeline_id: "p1" })).toBe(false);
    expect(endpointMatches({ ...e, min_severity: "high", rules: [], pipelines: [] }, { severity: "high", rule: "post_revocation_activity", pipeline_id: null })).toBe(true);
  });

  it("rate-limits with a token bucket", () => {
    resetRateLimits();
    const t0 = 1_000_000;
    for (let i = 0; i < 10; i++) expect(takeToken("k", 10, t0)).toBe(0);
    expect(takeToken("k", 10, t0)).toBeGreaterThan(0);
    expect(takeToken("k", 10, t0 + 6_000)).toBe(0); // one token back after 6 s
  });
});

describe("endpoint patches", () => {
  it("change only the fields they name (disabling an endpoint keeps its filters)", () => {
    expect(endpointPatch.parse({ enabled: false })).toEqual({ enabled: false });
    expect(endpointPatch.parse({ description: "pager" })).toEqual({ description: "pager" });
    expect(() => endpointPatch.parse({ url: "https://elsewhere.example" })).toThrow();
  });
});
