/**
 * Where to send someone after they sign in (`/login?next=…`): only somewhere on this
 * origin. The target is resolved against the origin the way a browser would resolve it
 * (so "/\t/evil.example", "/.//evil.example", "/..//evil.example" and "/%2e//evil.example"
 * are judged by what they become), any other origin is refused, and the result is
 * written back so that it cannot be read as protocol-relative: a path that resolves to
 * "//evil.example" on this origin leaves here as "/evil.example".
 */
const PLACEHOLDER_ORIGIN = "http://revenant.invalid";

export function safeNext(next: string | null | undefined, origin: string = PLACEHOLDER_ORIGIN): string {
  if (!next) return "/";
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return "/";
  }
  if (url.origin !== new URL(origin).origin) return "/";
  const path = url.pathname.replace(/^[/\\]+/, "/");
  return path + url.search + url.hash;
}
