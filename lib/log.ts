/**
 * The structured logger. Log lines carry ids (event_id, revocation_id, alert_id,
 * batch) as fields. Secrets never reach it: the redact list removes the fields
 * that could carry them even if a caller passes a whole object by mistake.
 */
import pino from "pino";

const globalKey = Symbol.for("revenant.logger");
const exitingKey = Symbol.for("revenant.logger.exiting");
type WithLogger = typeof globalThis & { [globalKey]?: pino.Logger; [exitingKey]?: boolean };

/**
 * From now on this thread logs fatal errors only: it is being torn down for the process's exit
 * (lib/store/clickhouse.ts, quiesceEmbeddedEngine), and the work it still had in hand fails on
 * its closed sessions, which is expected and says nothing about the system.
 */
export function quietForExit(): void {
  (globalThis as WithLogger)[exitingKey] = true;
}

export function logger(): pino.Logger {
  const g = globalThis as WithLogger;
  g[globalKey] ??= pino({
    level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "warn" : "info"),
    base: { service: "revenant" },
    hooks: {
      logMethod(args, method, level) {
        if ((globalThis as WithLogger)[exitingKey] && level < 60) return;
        method.apply(this, args);
      },
    },
    redact: {
      paths: ["password", "secret", "token", "apiKey", "authorization", "*.password", "*.secret", "*.token", "*.authorization", "headers.authorization", "headers.cookie"],
      censor: "[redacted]",
    },
  });
  return g[globalKey]!;
}
