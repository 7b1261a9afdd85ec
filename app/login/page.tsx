import { LoginForm } from "@/components/settings/login-form";
import { oidcEnabled } from "@/lib/auth/oidc";
import { config } from "@/lib/config";
import { safeNext } from "@/lib/http/redirect";

// Rendered per request: the CSP nonce (proxy.ts) must reach the page's scripts.
export const dynamic = "force-dynamic";

export const metadata = { title: "Sign in · Revenant" };

const SSO_ERRORS: Record<string, string> = {
  no_role: "Your identity provider account has no Revenant role. Ask an administrator.",
  disabled: "This user is disabled in Revenant.",
  no_flow: "The sign-in expired or started in another browser. Try again.",
};

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string; sso_error?: string }> }) {
  const { next, sso_error } = await searchParams;
  // Cleaned on the server (lib/http/redirect.ts): the form only ever sees a path on this origin.
  const target = typeof next === "string" ? safeNext(next) : null;
  const sso = oidcEnabled();
  const ssoHref = `/api/v1/auth/oidc/login${target ? `?next=${encodeURIComponent(target)}` : ""}`;
  return (
    <>
      {sso && (
        <div className="card stack" style={{ maxWidth: 380, margin: "48px auto 0" }}>
          {typeof sso_error === "string" && (
            <p role="alert" className="error">
              {SSO_ERRORS[sso_error] ?? "Single sign-on did not complete. Try again or ask an administrator."}
            </p>
          )}
          <a className="button primary" href={ssoHref}>
            Sign in with single sign-on
          </a>
        </div>
      )}
      {!config().REVENANT_SSO_ONLY && <LoginForm next={target} />}
    </>
  );
}
