import { apiRoute } from "@/lib/http/route";
import { transmitter } from "@/lib/transmitter";
import { EVENTS_SUPPORTED, POLL, PUSH } from "@/lib/transmitter/streams";

export const dynamic = "force-dynamic";

/** GET /.well-known/ssf-configuration (public): the SSF 1.0 transmitter metadata. */
export const GET = apiRoute(null, async () => {
  const { issuer } = transmitter();
  return Response.json({
    spec_version: "1_0",
    issuer,
    jwks_uri: `${issuer}/ssf/jwks`,
    delivery_methods_supported: [PUSH, POLL],
    configuration_endpoint: `${issuer}/api/v1/transmitter/streams`,
    status_endpoint: `${issuer}/api/v1/transmitter/streams/status`,
    add_subject_endpoint: `${issuer}/api/v1/transmitter/subjects/add`,
    remove_subject_endpoint: `${issuer}/api/v1/transmitter/subjects/remove`,
    verification_endpoint: `${issuer}/api/v1/transmitter/verify`,
    authorization_schemes: [{ spec_urn: "urn:ietf:rfc:6750" }],
    default_subjects: "ALL",
    events_supported: EVENTS_SUPPORTED,
  });
});
