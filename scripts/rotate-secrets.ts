/**
 * Re-encrypts stored webhook signing secrets, SSF stream tokens (poll and transmitter
 * tokens) and the authorization headers of the transmitter's push streams under the current
 * REVENANT_SECRET_KEY:
 *
 *   REVENANT_SECRET_KEY=<new> REVENANT_SECRET_KEY_PREVIOUS=<old> npx tsx scripts/rotate-secrets.ts
 *
 * Also seals secrets stored in plain text before a key was configured. Afterwards
 * REVENANT_SECRET_KEY_PREVIOUS can be removed. Embedded mode: stop the app first (one
 * process owns the data directory).
 */
import { audit } from "@/lib/auth/audit";
import { currentKeyId } from "@/lib/auth/secret-box";
import { closeStore, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { StreamStore } from "@/lib/ssf/streams";
import { StreamStore as TransmitterStreamStore } from "@/lib/transmitter/streams";
import { EndpointStore } from "@/lib/webhooks/endpoints";

async function main() {
  const key = currentKeyId();
  if (!key) {
    console.error("set REVENANT_SECRET_KEY (32 bytes, base64 or hex) first");
    process.exit(2);
  }
  await migrate(store().writer);
  const webhooks = await new EndpointStore(store().reader, store().writer).reseal();
  const streams = await new StreamStore(store().reader, store().writer).reseal();
  const pushStreams = await new TransmitterStreamStore(store().writer).reseal();
  await audit({ kind: "system", id: "cli:rotate-secrets", name: "rotate-secrets", role: "admin" }, "secrets.reseal", key, { rewritten: webhooks, ssf_streams: streams, transmitter_streams: pushStreams }, undefined, { required: true });
  console.log(`${webhooks} webhook secret(s), the tokens of ${streams} SSF stream(s) and the authorization headers of ${pushStreams} transmitter stream(s) re-encrypted with key ${key}`);
  await closeStore();
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
