/**
 * What an admin's stream settings must pass before they are stored (POST and PATCH
 * /api/v1/ssf/streams): the transmitter's URLs resolve to public addresses unless
 * allow-listed (SSF_ALLOWLIST, the same check as webhook URLs), and the issuer serves its
 * SSF configuration. Failures are 400s naming the parameter.
 */
import { badParam } from "../http/errors";
import { SsrfError } from "../webhooks/ssrf";
import { discover } from "./verify";
import { vetTransmitterUrl } from "./vetted-fetch";

export async function vetStreamUrls(urls: { issuer?: string; poll_url?: string }): Promise<void> {
  for (const param of ["issuer", "poll_url"] as const) {
    const url = urls[param];
    if (!url) continue;
    try {
      await vetTransmitterUrl(url);
    } catch (err) {
      if (err instanceof SsrfError) throw badParam(param, err.message);
      throw err;
    }
  }
  if (!urls.issuer) return;
  try {
    await discover(urls.issuer.replace(/\/$/, ""));
  } catch (err) {
    throw badParam("issuer", `the transmitter's SSF configuration could not be read: ${(err as Error).message}`);
  }
}
