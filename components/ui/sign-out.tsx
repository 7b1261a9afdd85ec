"use client";
/** Ends the session on the server (POST /api/v1/auth/logout), then shows the sign-in page. Every role can sign out. */
import { useState } from "react";
import { useSignOut } from "@/components/data/session";

export function SignOut() {
  const [busy, setBusy] = useState(false);
  const { mutateAsync: signOut } = useSignOut();
  return (
    <button
      className="btn btn-sm btn-ghost"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        await signOut().catch(() => undefined);
        window.location.href = "/login";
      }}
    >
      Sign out
    </button>
  );
}
