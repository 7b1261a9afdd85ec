/**
 * Calls the real Next.js route handlers in-process with real Request objects: the same
 * code path as over HTTP (auth, parameter validation, ClickHouse), without a server.
 */
export const TEST_API_KEY = "test-admin-key-0123456789-abcdefghijklmnop";

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

export async function call(
  handler: Handler,
  path: string,
  opts: { method?: string; body?: unknown; rawBody?: string; params?: Record<string, string>; auth?: string | null } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? TEST_API_KEY : opts.auth;
  if (auth) headers.authorization = `Bearer ${auth}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  const req = new Request(`http://localhost${path}`, { method: opts.method ?? "GET", headers, body });
  return handler(req, { params: Promise.resolve(opts.params ?? {}) });
}

export async function json<T = any>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
