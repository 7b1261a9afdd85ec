import { LoginForm } from "@/components/settings/login-form";

// Rendered per request: the CSP nonce (proxy.ts) must reach the page's scripts.
export const dynamic = "force-dynamic";

export const metadata = { title: "Sign in · Revenant" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  const { next } = await searchParams;
  return <LoginForm next={typeof next === "string" ? next : null} />;
}
