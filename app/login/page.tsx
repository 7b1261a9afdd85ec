import { LoginForm } from "@/components/settings/login-form";
import { safeNext } from "@/lib/http/redirect";

// Rendered per request: the CSP nonce (proxy.ts) must reach the page's scripts.
export const dynamic = "force-dynamic";

export const metadata = { title: "Sign in · Revenant" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  const { next } = await searchParams;
  // Cleaned on the server (lib/http/redirect.ts): the form only ever sees a path on this origin.
  return <LoginForm next={typeof next === "string" ? safeNext(next) : null} />;
}
