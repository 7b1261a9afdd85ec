import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { SessionStore } from "@/lib/auth/sessions";
import { oneAdminChangeAtATime, passwordSchema, roleSchema, UserStore } from "@/lib/auth/users";
import { ApiError, notFound } from "@/lib/http/errors";
import { apiRoute, readJson } from "@/lib/http/route";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const patch = z
  .object({ role: roleSchema.optional(), password: passwordSchema.optional(), disabled: z.boolean().optional() })
  .strict()
  // An empty change would still end the user's sessions and write an audit row.
  .refine((c) => Object.keys(c).length > 0, { message: "nothing to change: give role, password or disabled" });

/** Refuses a change that would leave no enabled admin. */
async function keepAnAdmin(users: UserStore, id: string): Promise<void> {
  const others = (await users.enabledAdmins()).filter((u) => u.id !== id);
  if (others.length === 0) throw new ApiError(409, "last_admin", "this is the last enabled admin");
}

/** PATCH /api/v1/users/{id} {role?, password?, disabled?} (admin). Role, password and disable changes end the user's sessions. */
export const PATCH = apiRoute<{ id: string }>("admin", async (req, { principal, params }) => {
  const change = patch.parse(await readJson(req));
  const users = new UserStore(store().reader, store().writer);
  const updated = await oneAdminChangeAtATime(async () => {
    const current = await users.byId(params.id);
    if (!current) throw notFound("user");
    if (current.role === "admin" && ((change.role && change.role !== "admin") || change.disabled)) await keepAnAdmin(users, params.id);
    // Not "password_…": the audit log drops keys that look like secrets (lib/auth/audit.ts).
    await audit(principal, "user.update", params.id, { email: current.email, role: change.role, disabled: change.disabled, credential_reset: change.password !== undefined }, req, { required: true });
    return users.update(params.id, change);
  });
  if (!updated) throw notFound("user");
  await new SessionStore(store().reader, store().writer).revokeAllFor(params.id);
  return Response.json(updated);
});

/** DELETE /api/v1/users/{id} (admin). */
export const DELETE = apiRoute<{ id: string }>("admin", async (req, { principal, params }) => {
  const users = new UserStore(store().reader, store().writer);
  await oneAdminChangeAtATime(async () => {
    const current = await users.byId(params.id);
    if (!current) throw notFound("user");
    if (current.role === "admin") await keepAnAdmin(users, params.id);
    await audit(principal, "user.delete", params.id, { email: current.email }, req, { required: true });
    await users.delete(params.id);
  });
  await new SessionStore(store().reader, store().writer).revokeAllFor(params.id);
  return new Response(null, { status: 204 });
});
