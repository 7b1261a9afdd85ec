import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { emailSchema, passwordSchema, roleSchema, UserExistsError, UserStore } from "@/lib/auth/users";
import { ApiError } from "@/lib/http/errors";
import { apiRoute, readJson } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/** GET /api/v1/users (admin). */
export const GET = apiRoute("admin", async () => {
  return Response.json({ items: await new UserStore().list(), next_cursor: null });
});

const body = z.object({ email: emailSchema, role: roleSchema, password: passwordSchema });

/** POST /api/v1/users {email, role, password} (admin): 201 with the user; 409 if the email exists. */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const input = body.parse(await readJson(req));
  try {
    const user = await new UserStore().create(input);
    await audit(principal, "user.create", user.id, { email: user.email, role: user.role }, req);
    return Response.json(user, { status: 201 });
  } catch (err) {
    if (err instanceof UserExistsError) throw new ApiError(409, "exists", "a user with this email exists", "email");
    throw err;
  }
});
