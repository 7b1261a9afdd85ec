import type { ReactNode } from "react";

export const metadata = { title: "Revenant", description: "Agents acting after revocation" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
