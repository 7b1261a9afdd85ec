import { randomUUID } from "node:crypto";
import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { emailSchema, passwordSchema, roleSchema, UserExistsError, UserStore } from "@/lib/auth/users";
import { ApiError } from "@/lib/http/errors";
import { apiRoute, parseQuery, readJson } from "@/lib/http/route";
import { adminListQuery } from "@/lib/queries/admin-lists";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** GET /api/v1/users?limit&cursor (admin): by email. */
export const GET = apiRoute("admin", async (req) => {
  return Response.json(await new UserStore(store().reader, store().writer).list(parseQuery(req, adminListQuery)));
});

const body = z.object({ email: emailSchema, role: roleSchema, password: passwordSchema });

/** POST /api/v1/users {email, role, password} (admin): 201 with the user; 409 if the email exists. */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const input = body.parse(await readJson(req));
  const users = new UserStore(store().reader, store().writer);
  if (await users.byEmailWithHash(input.email)) throw new ApiError(409, "exists", "a user with this email exists", "email");
  const id = randomUUID();
  await audit(principal, "user.create", id, { email: input.email, role: input.role }, req, { required: true });
  try {
    const user = await users.create({ ...input, id });
    return Response.json(user, { status: 201 });
  } catch (err) {
    if (err instanceof UserExistsError) throw new ApiError(409, "exists", "a user with this email exists", "email");
    throw err;
  }
});
