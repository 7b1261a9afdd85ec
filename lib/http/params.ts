/** Query-parameter schemas shared by the API routes. */
import { z } from "zod";

export const limitParam = (def = 100) => z.coerce.number().int().min(1).max(1000).default(def);
export const timeParam = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)) && /\d{4}-\d{2}-\d{2}/.test(v), "must be an RFC 3339 time")
  .transform((v) => new Date(v).toISOString());
export const idParam = z.string().min(1).max(2048);
export const boolParam = z.enum(["true", "false"]).transform((v) => v === "true");
/**
 * A list's cursor parameter (lib/http/cursor.ts decodes it). The bound is far above what the API
 * issues (a pair of 128-character ids, JSON-escaped twice, in base64) and keeps garbage short.
 */
export const cursorParam = z.string().max(4096).optional();

/**
 * The filters of a list query, as a client sends them in the URL (strings): the parameter
 * type of the list's UI hook, taken from the schema its route parses.
 */
export type UrlFilters<S extends z.ZodObject> = Partial<Record<Exclude<keyof z.input<S>, "limit" | "cursor">, string>>;
