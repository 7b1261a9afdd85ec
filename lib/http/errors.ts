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

/**
 * A ClickHouse refusal caused by the reader's limits (lib/store/clickhouse.ts readSettings),
 * as an API error that tells the caller what to change; null for any other error.
 * 159 TIMEOUT_EXCEEDED, 160 TOO_SLOW; 158 TOO_MANY_ROWS, 396 TOO_MANY_ROWS_OR_BYTES.
 */
export function readLimitError(err: unknown): ApiError | null {
  const code = Number((err as { code?: unknown } | null)?.code);
  if (code === 159 || code === 160) {
    return new ApiError(503, "query_timeout", "the query took longer than the read time limit; narrow the filters or the time range, or page with a smaller limit");
  }
  if (code === 158 || code === 396) {
    return new ApiError(422, "result_too_large", "the result has more rows than the read limit allows; narrow the filters or page with a smaller limit");
  }
  return null;
}
