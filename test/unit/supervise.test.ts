/**
 * scripts/start.mjs stops the broker and exits non-zero when the app dies: that rests on
 * noticing a child that a signal killed (its exit code stays null) and on the exit code
 * chosen for it. Checked against real child processes.
 */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
// @ts-expect-error plain .mjs script without types
import { unexpectedExitCode, whenExited } from "../../scripts/supervise.mjs";

const sleeper = () => spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });

describe("start.mjs supervision", () => {
  it("sees a child killed by SIGKILL as exited, also after the fact, and exits 137 for it", async () => {
    const child = sleeper();
    const seen = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once("exit", (code, signal) => r([code, signal])));
    child.kill("SIGKILL");
    const [code, signal] = await seen;
    expect(code).toBeNull();
    expect(signal).toBe("SIGKILL");
    // Waiting on a child that already died must end (shutdown waits on every child).
    await whenExited(child);
    expect(unexpectedExitCode(code, signal)).toBe(137);
  });

  it("keeps a crash's own exit code and treats an unasked clean exit as a failure", async () => {
    const child = spawn(process.execPath, ["-e", "process.exit(3)"], { stdio: "ignore" });
    await whenExited(child);
    expect(unexpectedExitCode(child.exitCode, child.signalCode)).toBe(3);
    expect(unexpectedExitCode(0, null)).toBe(1);
    expect(unexpectedExitCode(null, "SIGTERM")).toBe(143);
  });
});
