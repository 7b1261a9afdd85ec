import { Suspense } from "react";
import { SettingsTabs } from "@/components/settings/shared";
import { AuditLog } from "@/components/settings/audit";
import { Loading } from "@/components/ui/states";

// Admin only (proxy.ts checks the role before this renders; the API checks it again).
// Rendered per request so that the CSP nonce reaches the scripts.
export const dynamic = "force-dynamic";

export const metadata = { title: "Audit log · Settings · Revenant" };

export default function Page() {
  return (
    <>
      <div className="page-head">
        <h1>Audit log</h1>
      </div>
      <SettingsTabs />
      <Suspense fallback={<Loading height={640} />}>
        <AuditLog />
      </Suspense>
    </>
  );
}
