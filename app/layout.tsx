import type { ReactNode } from "react";
import "./globals.css";
import { Providers } from "./providers";
import { NavBar } from "@/components/ui/nav";

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
