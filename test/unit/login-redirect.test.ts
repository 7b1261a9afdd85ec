import { describe, expect, it } from "vitest";
import { safeNext as formSafeNext } from "@/components/settings/login-form";
import { safeNext } from "@/lib/http/redirect";

/** Where a browser on `origin` ends up after `location.href = target`. */
const landsOn = (target: string, origin: string) => new URL(target, origin).origin;

describe("sign-in redirect target", () => {
  const origin = "https://revenant.example";
  const offSite = [
    "//evil.example",
    "/\t/evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/.//evil.example",
    "/..//evil.example",
    "/%2e//evil.example",
    "/%2E%2E//evil.example",
    "/./\\evil.example",
    "/a/..//evil.example/x",
    "///evil.example",
  ];

  it("stays on this origin, whatever the target resolves to", () => {
    expect(safeNext("/alerts?status=open#x", origin)).toBe("/alerts?status=open#x");
    expect(safeNext(null, origin)).toBe("/");
    for (const evil of offSite) {
      const target = safeNext(evil, origin);
      expect(target.startsWith("/") && !target.startsWith("//"), `${evil} → ${target}`).toBe(true);
      expect(landsOn(target, origin), evil).toBe(origin);
    }
  });

  it("what the login page hands the form keeps the browser on the origin (server check, then the form's)", () => {
    for (const evil of offSite) expect(landsOn(formSafeNext(safeNext(evil), origin), origin), evil).toBe(origin);
    // A same-site target survives both.
    expect(formSafeNext(safeNext("/agents/a%2Fb?x=1"), origin)).toBe("/agents/a%2Fb?x=1");
  });
});
