/**
 * The structured logger. Log lines carry ids (event_id, revocation_id, alert_id,
 * batch) as fields. Secrets never reach it: the redact list removes the fields
 * that could carry them even if a caller passes a whole object by mistake.
 */
import pino from "pino";

const globalKey = Symbol.for("revenant.logger");
type WithLogger = typeof globalThis & { [globalKey]?: pino.Logger };

export function logger(): pino.Logger {
  const g = globalThis as WithLogger;
  g[globalKey] ??= pino({
    level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "warn" : "info"),
    base: { service: "revenant" },
    redact: {
      paths: ["password", "secret", "token", "apiKey", "authorization", "*.password", "*.secret", "*.token", "*.authorization", "headers.authorization", "headers.cookie"],
      censor: "[redacted]",
    },
  });
  return g[globalKey]!;
}
