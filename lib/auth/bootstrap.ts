/**
 * The first admin (issue 5 §7): created from REVENANT_ADMIN_EMAIL and
 * REVENANT_ADMIN_PASSWORD at start when no user with that email exists. Idempotent:
 * an existing user is left alone (its password is never overwritten from the environment).
 */
import { config } from "../config";
import { logger } from "../log";
import { UserExistsError, UserStore } from "./users";

export async function ensureFirstAdmin(): Promise<"created" | "exists" | "not_configured"> {
  const cfg = config();
  if (!cfg.REVENANT_ADMIN_EMAIL || !cfg.REVENANT_ADMIN_PASSWORD) return "not_configured";
  const users = new UserStore();
  if (await users.byEmailWithHash(cfg.REVENANT_ADMIN_EMAIL)) return "exists";
  try {
    const user = await users.create({ email: cfg.REVENANT_ADMIN_EMAIL, role: "admin", password: cfg.REVENANT_ADMIN_PASSWORD });
    logger().info({ user_id: user.id, email: user.email }, "first admin created");
    return "created";
  } catch (err) {
    if (err instanceof UserExistsError) return "exists";
    throw err;
  }
}

const key = Symbol.for("revenant.firstAdmin");
type WithBootstrap = typeof globalThis & { [key]?: Promise<unknown> };

/** ensureFirstAdmin once per process (the web role calls it before the first sign-in). */
export function ensureFirstAdminOnce(): Promise<unknown> {
  const g = globalThis as WithBootstrap;
  g[key] ??= ensureFirstAdmin().catch((err: Error) => {
    delete g[key];
    logger().error({ err: err.message }, "could not create the first admin");
  });
  return g[key]!;
}
