import { SettingsTabs } from "@/components/settings/shared";
import { SsfSettings } from "@/components/settings/ssf";

// Admin only (proxy.ts checks the role before this renders; the API checks it again).
// Rendered per request so that the CSP nonce reaches the scripts.
export const dynamic = "force-dynamic";

export const metadata = { title: "Shared Signals · Settings · Revenant" };

export default function Page() {
  return (
    <>
      <div className="page-head">
        <h1>Shared Signals (SSF/CAEP)</h1>
      </div>
      <SettingsTabs />
      <SsfSettings />
    </>
  );
}
