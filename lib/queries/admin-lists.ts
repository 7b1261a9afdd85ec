/**
 * The query of the admin lists without filters (GET /api/v1/users, /keys, /webhooks; docs/API.md):
 * parsed by their routes. The default page holds every row a deployment has in practice
 * (the settings pages show one page); `cursor` continues past it like every list.
 */
import { z } from "zod";
import { cursorParam, limitParam } from "../http/params";

export const adminListQuery = z.object({ limit: limitParam(1000), cursor: cursorParam });
/** What a caller may send, typed as the route reads it. */
export type AdminListQuery = z.output<typeof adminListQuery>;
