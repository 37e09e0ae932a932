/**
 * Attachments (protocol v1.1, "Attachments"): the default limits, the types accepted, the
 * first bytes that images and PDF must start with, and how a file name is cleaned. Shared by
 * the Worker's upload route and the SDK, which checks a file before it uploads it.
 */

/** `MAX_ATTACHMENT_BYTES` when unset: 100 MiB. */
export const DEFAULT_MAX_ATTACHMENT_BYTES = 104_857_600;

/** `ATTACHMENT_TYPES` when unset. */
export const DEFAULT_ATTACHMENT_TYPES = [
  "image/jpeg",
  "image/png",
  "image/gif",
  "image/webp",
  "application/pdf",
  "text/plain",
  "audio/mpeg",
  "audio/ogg",
  "video/mp4",
] as const;

/** An upload that no message names within this long is deleted. */
export const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

/** The longest file name kept, in bytes of UTF-8. */
export const MAX_FILE_NAME_BYTES = 255;

/** Types by file extension, for a file whose type is not given (browsers leave some empty). */
const BY_EXTENSION: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  pdf: "application/pdf",
  txt: "text/plain",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  opus: "audio/ogg",
  mp4: "video/mp4",
};

/** The media type a file name's extension suggests; `application/octet-stream` when none does. */
export function typeFromName(name: string): string {
  const ext = name.includes(".") ? (name.split(".").pop()?.toLowerCase() ?? "") : "";
  return BY_EXTENSION[ext] ?? "application/octet-stream";
}

/** How many first bytes `sniffMatches` needs to decide. */
export const SNIFF_BYTES = 12;

const ascii = (s: string) => [...s].map((ch) => ch.charCodeAt(0));

/** Each checked type's signatures: `null` matches any byte. */
const SIGNATURES: Record<string, (number | null)[][]> = {
  "image/jpeg": [[0xff, 0xd8, 0xff]],
  "image/png": [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  "image/gif": [ascii("GIF87a"), ascii("GIF89a")],
  "image/webp": [[...ascii("RIFF"), null, null, null, null, ...ascii("WEBP")]],
  "application/pdf": [ascii("%PDF-")],
};

/**
 * Whether `head` (the file's first bytes, at least `SNIFF_BYTES` unless the file is shorter)
 * fits `contentType`: images and PDF must start with their signature; other types are not checked.
 */
export function sniffMatches(contentType: string, head: Uint8Array): boolean {
  const signatures = SIGNATURES[contentType];
  if (!signatures) return true;
  return signatures.some((sig) => sig.length <= head.length && sig.every((b, i) => b === null || head[i] === b));
}

/** The media type of a `Content-Type` header, lower case, without parameters. */
export function mediaType(header: string | null | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

const utf8 = new TextEncoder();

/**
 * A file name safe to store and show: the last path segment only, no control or bidi-override
 * characters, trimmed, at most `MAX_FILE_NAME_BYTES` bytes (cut between characters); `"file"`
 * when nothing is left.
 */
export function cleanFileName(raw: string): string {
  const last = raw.split(/[/\\]/).pop() ?? "";
  // Control characters, and the format characters that reorder text (a name that reads
  // "photo.png" but is "photo\u202Egnp.exe").
  let name = last.replace(/[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu, "").trim();
  if (name === "." || name === "..") name = "";
  let bytes = 0;
  let kept = "";
  for (const ch of name) {
    bytes += utf8.encode(ch).byteLength;
    if (bytes > MAX_FILE_NAME_BYTES) break;
    kept += ch;
  }
  return kept.trim() || "file";
}
