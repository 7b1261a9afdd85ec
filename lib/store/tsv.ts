/**
 * Values in ClickHouse's TabSeparated format, which the hot inserts use (ClickHouse parses it
 * about twice as fast as JSONEachRow): a field escapes the backslash and the characters that
 * would end the field or the row.
 */
const NEEDS_ESCAPE = /[\\\t\n\r]/;
const TSV_SPECIAL = /[\\\t\n\r]/g;
const TSV_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };
const NEEDS_QUOTED_ESCAPE = /[\\'\t\n\r]/;
const QUOTED_SPECIAL = /[\\'\t\n\r]/g;
const QUOTED_ESCAPES: Record<string, string> = { ...TSV_ESCAPES, "'": "\\'" };

/** The same escapes as bytes: each special byte → the byte that follows the backslash. */
const TSV_BYTE_ESCAPES: Record<number, number> = Object.fromEntries(Object.entries(TSV_ESCAPES).map(([c, e]) => [c.charCodeAt(0), e.charCodeAt(1)]));
const TSV_SPECIAL_BYTES = Object.keys(TSV_BYTE_ESCAPES).map(Number);

/** A string as one TabSeparated field. */
export const tsvField = (v: string) => (NEEDS_ESCAPE.test(v) ? v.replace(TSV_SPECIAL, (c) => TSV_ESCAPES[c]) : v);

/**
 * A string as a quoted string literal, by ClickHouse's quoted-string rules: ' and \ are escaped
 * and so are the characters that would end a TSV field or row. Used inside a Map or Array field
 * of a TSV row (which ClickHouse reads with these rules, not TSV unescaping) and for the values
 * of SET statements (lib/store/session-pool.ts).
 */
export const quotedString = (v: string) => `'${escapeQuoted(v)}'`;

/** A string's escapes inside a quoted string literal, the quotes not included. */
export const escapeQuoted = (v: string) => (NEEDS_QUOTED_ESCAPE.test(v) ? v.replace(QUOTED_SPECIAL, (c) => QUOTED_ESCAPES[c]) : v);

/**
 * TabSeparated rows written straight into bytes as they are made. Kept as strings, a batch's
 * rows become a tree of tens of thousands of concatenated strings that outlives the young
 * generation (garbage collection took a third of mapping OTLP spans, node --cpu-prof); bytes
 * are also what an insert sends, and what a worker thread can hand over without a copy.
 */
export class TsvBytes {
  private buf = Buffer.allocUnsafeSlow(64 * 1024);
  private length = 0;
  rows = 0;

  /** One row, its fields already escaped (tsvField), ending in "\n". */
  add(row: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    this.reserve(row.length * 3);
    this.length += this.buf.write(row, this.length, "utf8");
    this.rows++;
  }

  /** One row, its fields already escaped and joined by tabs, without its "\n" (added here, not by concatenating). */
  addLine(row: string): void {
    this.add(row);
    this.reserve(1);
    this.buf[this.length++] = 0x0a;
  }

  /**
   * One row whose last field is given as bytes (a message as received, kept whole): `head`
   * holds the fields before it, escaped, each followed by "\t". The bytes are escaped as bytes:
   * decoded into a string, escaped and encoded again, a message of hundreds of kilobytes cost
   * three passes over it. The characters TSV escapes are ASCII, which never occurs inside a
   * multi-byte UTF-8 sequence, so escaping byte by byte is exact.
   */
  addWithBytes(head: string, field: Uint8Array): void {
    const bytes = Buffer.from(field.buffer, field.byteOffset, field.byteLength);
    // At most two bytes per byte escaped, and the final "\n".
    this.reserve(head.length * 3 + bytes.length * 2 + 1);
    this.length += this.buf.write(head, this.length, "utf8");
    if (TSV_SPECIAL_BYTES.every((b) => bytes.indexOf(b) < 0)) {
      this.length += bytes.copy(this.buf, this.length);
    } else {
      for (const b of bytes) {
        const escape = TSV_BYTE_ESCAPES[b];
        if (escape !== undefined) {
          this.buf[this.length++] = 0x5c;
          this.buf[this.length++] = escape;
        } else this.buf[this.length++] = b;
      }
    }
    this.buf[this.length++] = 0x0a;
    this.rows++;
  }

  private reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  /** The rows so far, in a buffer of their own (transferable to another thread). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, 0, this.length);
  }
}
