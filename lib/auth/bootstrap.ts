/**
 * The first admin: created from REVENANT_ADMIN_EMAIL and REVENANT_ADMIN_PASSWORD the
 * first time the app starts with them, once ever. The creation is recorded in
 * `bootstrap_state` (migration 050); once recorded, nothing is created from the
 * environment again, so an admin who deleted that account (or changed its password)
 * does not see it come back with the environment's password at the next start.
 */
import { config } from "../config";
import { logger } from "../log";
import { insertRows, queryRows, store } from "../store/clickhouse";
import { audit } from "./audit";
import { UserExistsError, UserStore } from "./users";

const STEP = "first_admin";

async function recorded(): Promise<boolean> {
  const rows = await queryRows<{ n: number }>(store().reader, "bootstrap:get", `SELECT count() AS n FROM bootstrap_state FINAL WHERE step = {step:String}`, { step: STEP });
  return Number(rows[0]?.n ?? 0) > 0;
}

async function record(detail: string): Promise<void> {
  await insertRows(store().writer, "bootstrap_state", [{ step: STEP, detail, at: new Date().toISOString() }], { comment: "bootstrap:record" });
}

export async function ensureFirstAdmin(): Promise<"created" | "exists" | "done_before" | "not_configured"> {
  const cfg = config();
  if (!cfg.REVENANT_ADMIN_EMAIL || !cfg.REVENANT_ADMIN_PASSWORD) return "not_configured";
  if (await recorded()) return "done_before";
  const users = new UserStore(store().reader, store().writer);
  if (await users.byEmailWithHash(cfg.REVENANT_ADMIN_EMAIL)) {
    await record("existing user kept");
    return "exists";
  }
  try {
    const user = await users.create({ email: cfg.REVENANT_ADMIN_EMAIL, role: "admin", password: cfg.REVENANT_ADMIN_PASSWORD });
    await record(user.id);
    await audit({ kind: "system", id: "bootstrap", name: "REVENANT_ADMIN_EMAIL", role: "admin" }, "user.bootstrap_admin", user.email, { user_id: user.id });
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
