/** Decodes a dynamic route segment (Next hands it over percent-encoded). Server-safe. */
export function decodeSegment(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}
