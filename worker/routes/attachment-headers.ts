/** Headers of attachment downloads: a `Content-Disposition` that cannot be abused, and `Range`. */

/**
 * `attachment` with the name twice, per RFC 6266: `filename*` in UTF-8, percent-encoded (so
 * nothing in the name can end the header or add another), and `filename` as an ASCII fallback
 * with everything outside printable ASCII, quotes and backslashes replaced.
 */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Inclusive byte positions of a satisfiable range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A single `bytes=` range of a file of `size` bytes: null for none (or one this server does not
 * serve partially: several ranges, another unit, a malformed header), "unsatisfiable" for one
 * that starts past the end.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | null {
  const m = header ? /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim()) : null;
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return "unsatisfiable";
  if (end < start) return null;
  return { start, end };
}
