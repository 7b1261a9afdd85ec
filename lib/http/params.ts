/** Query-parameter schemas shared by the API routes. */
import { z } from "zod";

export const limitParam = (def = 100) => z.coerce.number().int().min(1).max(1000).default(def);
/**
 * An RFC 3339 date-time with its offset ("2026-06-01T10:00:00Z", "…+02:00"), or a full date
 * (UTC midnight). A date-time without an offset is refused rather than read in the server's
 * time zone.
 */
const RFC3339 = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))?$/;
export const timeParam = z
  .string()
  .refine((v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)), "must be an RFC 3339 time with its offset (2026-06-01T10:00:00Z)")
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
