/**
 * The one way the browser talks to /api/v1: JSON in, JSON out, the CSRF header on every
 * non-GET request (the auth layer checks it against the `revenant_csrf` cookie), and the
 * API's error shape {error: {code, message, param}} turned into a typed ApiClientError.
 * Components never call fetch themselves; they use the hooks in components/data/*.
 */

export class ApiClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = "ApiClientError";
  }
  get unauthenticated() {
    return this.status === 401;
  }
  get forbidden() {
    return this.status === 403;
  }
  get notFound() {
    return this.status === 404;
  }
}

export type QueryValue = string | number | boolean | null | undefined;
export type QueryParams = Record<string, QueryValue>;

/** Builds a query string from the non-empty params, in a stable order (stable cache keys, stable URLs). */
export function toQueryString(params: QueryParams = {}): string {
  const sp = new URLSearchParams();
  for (const key of Object.keys(params).sort()) {
    const v = params[key];
    if (v === undefined || v === null || v === "") continue;
    sp.set(key, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : "";
}

/** `/api/v1/…` plus the query: also used for plain download links (exports stream in the browser). */
export function apiUrl(path: string, params?: QueryParams): string {
  return `/api/v1${path}${toQueryString(params)}`;
}

function readCookie(name: string): string | null {
  if (typeof document === "undefined") return null;
  for (const part of document.cookie.split(";")) {
    const [k, ...rest] = part.trim().split("=");
    if (k === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export interface ApiRequestInit {
  method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  body?: unknown;
  params?: QueryParams;
  signal?: AbortSignal;
}

export async function api<T>(path: string, init: ApiRequestInit = {}): Promise<T> {
  const method = init.method ?? "GET";
  const headers: Record<string, string> = { accept: "application/json" };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") {
    // Secure deployments name it __Host-revenant_csrf (lib/auth/cookies.ts).
    const csrf = readCookie("__Host-revenant_csrf") ?? readCookie("revenant_csrf");
    if (csrf) headers["x-csrf-token"] = csrf;
  }
  let res: Response;
  try {
    res = await fetch(apiUrl(path, init.params), {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      credentials: "same-origin",
      cache: "no-store",
      signal: init.signal,
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiClientError(0, "network", "the server cannot be reached");
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON: handled below */
    }
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; param?: string } } | undefined)?.error;
    throw new ApiClientError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.param);
  }
  if (json === undefined && text) throw new ApiClientError(res.status, "bad_response", "the server answered with something other than JSON");
  return json as T;
}
