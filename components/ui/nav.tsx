"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useMe, useRoleAtLeast } from "@/components/data/session";
import { LiveIndicator } from "./live";
import { SignOut } from "./sign-out";
import { ZoneToggle } from "./time";

const LINKS = [
  { href: "/", label: "Overview" },
  { href: "/agents", label: "Agents" },
  { href: "/pipelines", label: "Pipelines" },
  { href: "/revocations", label: "Revocations" },
  { href: "/alerts", label: "Alerts" },
  { href: "/investigate", label: "Investigate" },
  { href: "/settings/webhooks", label: "Settings", prefix: "/settings", role: "admin" },
] as const;

export function NavBar() {
  const pathname = usePathname() ?? "/";
  if (pathname === "/login") {
    return (
      <header className="topbar">
        <span className="brand">
          <span className="brand-mark" aria-hidden="true">
            ⟲
          </span>
          Revenant
        </span>
      </header>
    );
  }
  return <SignedInBar pathname={pathname} />;
}

function SignedInBar({ pathname }: { pathname: string }) {
  const me = useMe();
  const admin = useRoleAtLeast("admin");
  // Settings only for admins (proxy.ts refuses the pages to anyone else).
  const links = LINKS.filter((l) => !("role" in l) || admin);
  return (
    <header className="topbar">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Link href="/" className="brand" aria-label="Revenant overview">
        <span className="brand-mark" aria-hidden="true">
          ⟲
        </span>
        Revenant
      </Link>
      <nav aria-label="Main">
        <ul className="nav-links">
          {links.map((l) => {
            const base = "prefix" in l ? l.prefix : l.href;
            const active = base === "/" ? pathname === "/" : pathname === base || pathname.startsWith(`${base}/`);
            return (
              <li key={l.href}>
                <Link href={l.href} className={active ? "active" : undefined} aria-current={active ? "page" : undefined}>
                  {l.label}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <div className="topbar-right">
        <LiveIndicator />
        <ZoneToggle />
        {me.data && (
          <span className="faint" data-testid="signed-in-as" title={`signed in as ${me.data.name}`}>
            {me.data.name} · {me.data.role}
          </span>
        )}
        <SignOut />
      </div>
    </header>
  );
}
