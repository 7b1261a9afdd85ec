/** The API's one error shape (docs/API.md, "Conventions"): {error: {code, message, param}}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
    /** Seconds; sent as Retry-After (429, 503). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export const rateLimited = (what: string, seconds: number) => new ApiError(429, "rate_limited", `${what}; retry in ${seconds} s`, undefined, seconds);

export const badParam = (param: string, message: string) => new ApiError(400, "invalid_parameter", `${param}: ${message}`, param);
export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);

export function errorResponse(err: ApiError): Response {
  const headers: Record<string, string> = err.retryAfter !== undefined ? { "retry-after": String(err.retryAfter) } : {};
  return Response.json({ error: { code: err.code, message: err.message, ...(err.param ? { param: err.param } : {}) } }, { status: err.status, headers });
}
