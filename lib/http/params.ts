/** Query-parameter schemas shared by the API routes. */
import { z } from "zod";

export const limitParam = (def = 100) => z.coerce.number().int().min(1).max(1000).default(def);
export const timeParam = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)) && /\d{4}-\d{2}-\d{2}/.test(v), "must be an RFC 3339 time")
  .transform((v) => new Date(v).toISOString());
export const idParam = z.string().min(1).max(2048);
export const boolParam = z.enum(["true", "false"]).transform((v) => v === "true");
