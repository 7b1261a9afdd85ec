/**
 * The Shared Signals intake's outbound requests (discovery, JWKS, poll, verification) go
 * through lib/ssf/vetted-fetch.ts: the transmitter's address is judged where the connection is
 * made, so a name that resolved to a public address when the stream was saved cannot later
 * lead to an internal one (DNS rebinding). Without a database: a local server and a resolver
 * the test controls.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo, LookupFunction } from "node:net";
import { vettedFetch } from "@/lib/ssf/vetted-fetch";
import { parseAllowlist, vetUrl } from "@/lib/webhooks/ssrf";

/** A resolver whose answers are taken in turn, the last one repeated: a rebinding DNS server. */
function answersInTurn(...addresses: string[]): LookupFunction {
  let call = 0;
  return ((_host: string, opts: { all?: boolean }, cb: (err: Error | null, a: unknown, f?: number) => void) => {
    const address = addresses[Math.min(call++, addresses.length - 1)];
    const family = address.includes(":") ? 6 : 4;
    if (opts.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  }) as unknown as LookupFunction;
}

describe("SSF requests are vetted on the address connected to", () => {
  let server: http.Server;
  let port = 0;
  const hits: string[] = [];
  const none = parseAllowlist([]);
  const loopback = parseAllowlist(["127.0.0.1"]);

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      if (req.url === "/redirect") return res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data" }).end();
      if (req.url === "/big") return res.writeHead(200).end("x".repeat(4096));
      if (req.url === "/hang") return; // never answers
      if (req.url === "/empty") return res.writeHead(204).end();
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => res.writeHead(200, { "content-type": "application/json", "x-seen": "yes" }).end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization ?? null })));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("refuses a name that passed the check when it was saved and resolves to loopback now, without sending anything", async () => {
    const url = `http://transmitter.example.test:${port}/.well-known/ssf-configuration`;
    const dns = answersInTurn("93.184.216.34", "127.0.0.1");
    await expect(vetUrl(url, none, dns)).resolves.toBeInstanceOf(URL); // what stream creation checks
    const before = hits.length;
    await expect(vettedFetch(url, { allow: none, lookup: dns })).rejects.toThrow(/non-public addresses \(127\.0\.0\.1\); allow it with SSF_ALLOWLIST/);
    expect(hits.length).toBe(before);
  });

  it("refuses a loopback address written as such unless SSF_ALLOWLIST names it", async () => {
    const before = hits.length;
    await expect(vettedFetch(`http://127.0.0.1:${port}/jwks`, { allow: none })).rejects.toThrow(/127\.0\.0\.1 is not a public address; allow it with SSF_ALLOWLIST/);
    expect(hits.length).toBe(before);
  });

  it("sends method, headers and body to an allowed address and answers with a standard Response", async () => {
    const res = await vettedFetch(`http://127.0.0.1:${port}/poll`, {
      allow: loopback,
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer poll-token" },
      body: JSON.stringify({ maxEvents: 10 }),
    });
    expect(res.ok).toBe(true);
    expect(res.headers.get("x-seen")).toBe("yes");
    expect(await res.json()).toEqual({ method: "POST", body: '{"maxEvents":10}', auth: "Bearer poll-token" });
    const empty = await vettedFetch(`http://127.0.0.1:${port}/empty`, { allow: loopback });
    expect(empty.status).toBe(204);
  });

  it("does not follow a redirect, which could lead anywhere", async () => {
    await expect(vettedFetch(`http://127.0.0.1:${port}/redirect`, { allow: loopback })).rejects.toThrow(/redirect to http:\/\/169\.254\.169\.254\/latest\/meta-data not followed/);
  });

  it("gives up on an answer larger than its bound, and on its signal", async () => {
    await expect(vettedFetch(`http://127.0.0.1:${port}/big`, { allow: loopback, maxBytes: 1024 })).rejects.toThrow(/larger than 1024 bytes/);
    await expect(vettedFetch(`http://127.0.0.1:${port}/hang`, { allow: loopback, signal: AbortSignal.timeout(200) })).rejects.toThrow(/timeout|aborted/i);
  });
});
