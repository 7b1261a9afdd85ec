import { describe, expect, it } from "vitest";
import { safeNext } from "@/components/settings/login-form";

describe("sign-in redirect target", () => {
  it("stays on this origin", () => {
    const origin = "https://revenant.example";
    expect(safeNext("/alerts?status=open#x", origin)).toBe("/alerts?status=open#x");
    for (const evil of ["//evil.example", "/\t/evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)"]) {
      expect(safeNext(evil, origin), evil).toBe("/");
    }
    expect(safeNext(null, origin)).toBe("/");
  });
});
