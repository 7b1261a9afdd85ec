/**
 * A test SSF transmitter over real HTTP (node:http on 127.0.0.1): serves
 * /.well-known/ssf-configuration and its JWKS, signs SETs with jose, offers an RFC 8936
 * poll endpoint that keeps each SET until it is acknowledged, and an SSF verification
 * endpoint that answers a request with a verification event carrying its state, delivered
 * on the stream the request names (streams registered with `addStream`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = randomUUID().slice(0, 8);
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

export const POLL_TOKEN = "poll-secret-token";
/** The bearer token of the transmitter's management API (its verification endpoint). */
export const TRANSMITTER_TOKEN = "transmitter-management-token";
const VERIFICATION_EVENT = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/** A stream at the transmitter: the audience it signs for and how it delivers a SET. */
interface TransmitterStream {
  aud: string;
  deliver: (set: { jti: string; jwt: string }) => Promise<void>;
}

export class TestTransmitter {
  issuer = "";
  private server!: http.Server;
  private keys: Key[] = [];
  /** SETs waiting for acknowledgement, by jti (the poll queue). */
  readonly queue = new Map<string, string>();
  readonly acked: string[] = [];
  readonly setErrs: Record<string, { err: string; description: string }> = {};
  jwksFetches = 0;
  /** Answers this many JWKS requests with 503 (the key server or its CDN failing for a moment). */
  jwksFailures = 0;
  /** Fails this many poll requests that carry acknowledgements with 500, leaving the acks unapplied (the receiver crashed or the network broke before they arrived). */
  failAckRequests = 0;
  /** Streams by the transmitter's stream id, for verification requests. */
  private readonly streams = new Map<string, TransmitterStream>();
  /** Verification requests received, in order. */
  readonly verificationRequests: { stream_id: string; state: string }[] = [];
  /** Deliveries of verification events that failed (the receiver refused or was unreachable). */
  readonly deliveryErrors: string[] = [];

  /** Where it listens (http://127.0.0.1:port); its metadata and key set are served there. */
  origin = "";

  /** `issuerSpelling`: the issuer as its metadata and tokens spell it from the origin (some transmitters end it with a slash); default: the origin. */
  constructor(private readonly issuerSpelling: (origin: string) => string = (origin) => origin) {}

  async start(): Promise<this> {
    this.keys = [await newKey()];
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.issuer = this.issuerSpelling(this.origin);
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server.close(r));
  }

  /** A new signing key; the old one is dropped from the JWKS. */
  async rotate(): Promise<void> {
    this.keys = [await newKey()];
  }

  /** A new signing key published beside the current ones (a rotation in progress): it signs from now on. */
  async addKey(): Promise<void> {
    this.keys = [await newKey(), ...this.keys];
  }

  get kid(): string {
    return this.keys[0].kid;
  }

  async sign(
    eventType: string,
    event: Record<string, unknown>,
    opts: { aud: string; subId?: unknown; jti?: string; iss?: string; key?: Key; claims?: Record<string, unknown>; typ?: string; kid?: string | null },
  ): Promise<{ jti: string; jwt: string }> {
    const jti = opts.jti ?? randomUUID();
    const key = opts.key ?? this.keys[0];
    const jwt = await new SignJWT({ ...(opts.subId ? { sub_id: opts.subId } : {}), events: { [eventType]: event }, ...opts.claims })
      // kid null: a header without one (the receiver then tries every key that fits).
      .setProtectedHeader({ alg: "ES256", typ: opts.typ ?? "secevent+jwt", ...(opts.kid === null ? {} : { kid: opts.kid ?? key.kid }) })
      .setIssuer(opts.iss ?? this.issuer)
      .setAudience(opts.aud)
      .setJti(jti)
      .setIssuedAt()
      .sign(key.privateKey);
    return { jti, jwt };
  }

  /** A key the transmitter does not publish, for forged tokens. */
  static foreignKey(): Promise<Key> {
    return newKey();
  }

  enqueue(jti: string, jwt: string): void {
    this.queue.set(jti, jwt);
  }

  /** Registers a stream: verification requests naming `id` are answered with a SET for `aud`, delivered by `deliver`. */
  addStream(id: string, stream: TransmitterStream): void {
    this.streams.set(id, stream);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.url === "/.well-known/ssf-configuration") {
      return json(200, {
        spec_version: "1_0", issuer: this.issuer, jwks_uri: `${this.origin}/jwks.json`,
        delivery_methods_supported: ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"],
        verification_endpoint: `${this.origin}/verify`,
      });
    }
    if (req.url === "/verify" && req.method === "POST") {
      if (req.headers.authorization !== `Bearer ${TRANSMITTER_TOKEN}`) return json(401, { error: "unauthorized" });
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { stream_id?: string; state?: string };
      const stream = this.streams.get(body.stream_id ?? "");
      if (!stream) return json(404, { error: "no such stream" });
      this.verificationRequests.push({ stream_id: body.stream_id!, state: body.state ?? "" });
      res.writeHead(204);
      res.end();
      // As SSF says: the answer first, the verification event after it, on the stream.
      const event = body.state === undefined ? {} : { state: body.state };
      const set = await this.sign(VERIFICATION_EVENT, event, { aud: stream.aud, subId: { format: "opaque", id: body.stream_id } });
      await stream.deliver(set).catch((err: unknown) => this.deliveryErrors.push(String(err)));
      return;
    }
    if (req.url === "/jwks.json") {
      this.jwksFetches++;
      if (this.jwksFailures > 0) {
        this.jwksFailures--;
        return json(503, { error: "unavailable" });
      }
      return json(200, { keys: this.keys.map((k) => k.jwk) });
    }
    if (req.url === "/poll" && req.method === "POST") {
      if (req.headers.authorization !== `Bearer ${POLL_TOKEN}`) return json(401, { error: "unauthorized" });
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      if (body.ack?.length && this.failAckRequests > 0) {
        this.failAckRequests--;
        return json(500, { error: "down" });
      }
      for (const jti of body.ack ?? []) {
        this.queue.delete(jti);
        this.acked.push(jti);
      }
      for (const [jti, e] of Object.entries(body.setErrs ?? {})) {
        this.queue.delete(jti);
        this.setErrs[jti] = e as { err: string; description: string };
      }
      const max = body.maxEvents ?? 100;
      const sets = Object.fromEntries([...this.queue.entries()].slice(0, max));
      return json(200, { sets, moreAvailable: this.queue.size > max });
    }
    json(404, { error: "not found" });
  }
}
