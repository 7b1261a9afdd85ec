/**
 * Verification on request (SSF 1.0, "Verification"): an admin asks whether a stream works end
 * to end. Revenant, as receiver, POSTs `{stream_id, state}` to the transmitter's
 * verification_endpoint (from its discovery document); the transmitter answers by sending a
 * verification event carrying that state on the stream, by push or poll, verified like every
 * SET (lib/ssf/receive.ts). The stream's status then shows the request answered.
 *
 * The request is recorded before it is sent: the event may arrive before the POST returns.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { randomToken } from "../auth/crypto";
import { ApiError, badParam } from "../http/errors";
import { insertRows, queryRows } from "../store/clickhouse";
import { SsrfError } from "../webhooks/ssrf";
import { VERIFICATION } from "./map";
import type { Stream } from "./streams";
import { vetTransmitterUrl, vettedFetch } from "./vetted-fetch";
import { discover } from "./verify";

export interface VerificationRequest {
  state: string;
  requested_at: string;
}

/**
 * Asks the stream's transmitter for a verification event. Refused (4xx) when the stream has
 * no transmitter stream id or the transmitter advertises no verification_endpoint; 502 when
 * the transmitter refuses or cannot be reached.
 */
export async function requestVerification(
  client: ClickHouseClient,
  stream: Stream,
  transmitterToken: string,
  requestedBy: string,
): Promise<VerificationRequest> {
  if (!stream.transmitter_stream_id) {
    throw badParam("transmitter_stream_id", "set the stream's id at the transmitter first (PATCH the stream): the verification request names it");
  }
  let endpoint: unknown;
  try {
    endpoint = (await discover(stream.issuer)).verification_endpoint;
  } catch (err) {
    throw new ApiError(502, "transmitter_unavailable", `the transmitter's SSF configuration could not be read: ${(err as Error).message}`);
  }
  if (typeof endpoint !== "string") throw new ApiError(409, "verification_unsupported", "the transmitter's SSF configuration names no verification_endpoint");
  try {
    await vetTransmitterUrl(endpoint);
  } catch (err) {
    if (err instanceof SsrfError) throw new ApiError(502, "transmitter_unavailable", `verification_endpoint: ${err.message}`);
    throw err;
  }
  const request = { state: randomToken(), requested_at: new Date().toISOString() };
  await insertRows(client, "ssf_verification_requests", [{ stream_id: stream.id, ...request, requested_by: requestedBy }], { comment: "ssf:verification" });
  let res: Response;
  try {
    res = await vettedFetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", ...(transmitterToken ? { authorization: `Bearer ${transmitterToken}` } : {}) },
      body: JSON.stringify({ stream_id: stream.transmitter_stream_id, state: request.state }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new ApiError(502, "transmitter_unavailable", `the verification request failed: ${(err as Error).message}`);
  }
  if (!res.ok) throw new ApiError(502, "transmitter_refused", `the transmitter answered the verification request with HTTP ${res.status}`);
  return request;
}

/** Per stream, its latest verification request and when the event carrying its state arrived. */
export async function lastVerifications(client: ClickHouseClient, streamIds: string[]): Promise<Map<string, { requested_at: string; answered_at: string | null }>> {
  const out = new Map<string, { requested_at: string; answered_at: string | null }>();
  if (!streamIds.length) return out;
  const rows = await queryRows<{ stream_id: string; requested_at: string; answered_at: string | null }>(
    client,
    "ssf:verifications",
    `SELECT r.stream_id AS stream_id, r.last_requested_at AS requested_at, a.first_received_at AS answered_at
     FROM (
       SELECT stream_id, argMax(state, requested_at) AS last_state, max(requested_at) AS last_requested_at
       FROM ssf_verification_requests WHERE stream_id IN {ids:Array(String)} GROUP BY stream_id
     ) AS r
     LEFT JOIN (
       SELECT stream_id, JSONExtractString(claims, 'events', {type:String}, 'state') AS answered_state, min(received_at) AS first_received_at
       FROM ssf_sets FINAL WHERE stream_id IN {ids:Array(String)} AND outcome = 'verification' GROUP BY stream_id, answered_state
     ) AS a ON a.stream_id = r.stream_id AND a.answered_state = r.last_state
     SETTINGS join_use_nulls = 1`,
    { ids: streamIds, type: VERIFICATION },
  );
  for (const r of rows) out.set(r.stream_id, { requested_at: r.requested_at, answered_at: r.answered_at });
  return out;
}
