import type { ReactNode } from "react";
import "./globals.css";
import { Providers } from "./providers";
import { NavBar } from "@/components/ui/nav";

// Every page is rendered per request: the proxy's CSP nonce only reaches Next's scripts
// on dynamic renders, and every page depends on who is signed in anyway.
export const dynamic = "force-dynamic";

export const metadata = { title: "Revenant", description: "Agents acting after revocation" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>
          <NavBar />
          <main id="main" className="page" tabIndex={-1}>
            {children}
          </main>
        </Providers>
      </body>
    </html>
  );
}
