// Child-process supervision for scripts/start.mjs, kept apart so that tests can run it
// against real processes. Plain Node, no dependencies.
import { constants } from "node:os";

/**
 * Resolves when the child has exited, also when it exited before the call: a child killed
 * by a signal keeps exitCode null forever, so waiting for exitCode alone never ends.
 */
export function whenExited(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
  });
}

/**
 * The exit code for a supervisor whose child stopped without being asked to: its own
 * non-zero code, 128 + the signal number when a signal ended it (the shell's convention:
 * 137 for SIGKILL), and 1 when it exited 0, because the app is meant to run until stopped.
 */
export function unexpectedExitCode(code, signal) {
  if (code) return code;
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return 1;
}
