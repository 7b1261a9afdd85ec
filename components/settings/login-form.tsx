"use client";
/** Sign-in form: POST /api/v1/auth/login, then on to `next` (a same-site path only). */
import { useState, type FormEvent } from "react";
import { useSignIn } from "@/components/data/session";
import { safeNext } from "@/lib/http/redirect";
import { ErrorLine, errorText } from "./shared";

// One rule for every redirect after sign-in, the server's and this form's (lib/http/redirect.ts).
export { safeNext };

export function LoginForm({ next }: { next: string | null }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { mutateAsync: signIn } = useSignIn();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn({ email, password });
      // A full load, not router.push: the new session cookie must reach the proxy and the server render.
      // eslint-disable-next-line @next/next/no-location-assign-relative-destination
      window.location.href = safeNext(next, window.location.origin);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <form method="post" action="/login" className="card stack" style={{ maxWidth: 380, margin: "48px auto" }} onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">Sign in to Revenant</h1>
      <label className="field">
        Email
        <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
      </label>
      <label className="field">
        Password
        <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      <ErrorLine error={error} />
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
