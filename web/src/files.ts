/**
 * Files before they go up: the type to declare, the check against the server's default limits
 * in words, and sizes in human units. The server decides (a deployment may set other limits);
 * checking here spares an upload that could never be accepted and says why in plain words.
 */
import {
  DEFAULT_ATTACHMENT_TYPES,
  DEFAULT_MAX_ATTACHMENT_BYTES,
  mediaType,
  typeFromName,
} from "../../protocol/attachments";

/** The accepted types, for the file input's `accept`. */
export const ACCEPTED_TYPES: readonly string[] = DEFAULT_ATTACHMENT_TYPES;

/** The media type to upload `file` as: the browser's, else one from its extension. */
export function typeOf(file: { name: string; type: string }): string {
  const declared = mediaType(file.type);
  if (declared) return declared;
  return typeFromName(file.name);
}

/** Why `file` cannot be sent, in words, or null when it may be. */
export function refusal(file: { name: string; type: string; size: number }): string | null {
  if (file.size > DEFAULT_MAX_ATTACHMENT_BYTES) {
    return `That file is too large: at most ${DEFAULT_MAX_ATTACHMENT_BYTES / 1_048_576} MiB (${file.name}).`;
  }
  const type = typeOf(file);
  if (!ACCEPTED_TYPES.includes(type)) {
    return `Files of type ${type} are not accepted (${file.name}). Photos, PDF, plain text, audio and MP4 video are.`;
  }
  return null;
}

/** Photos up to this size show inline (loaded as they come into the chat); larger ones as a download. */
const INLINE_PHOTO_MAX_BYTES = 20 * 1_048_576;

/** Whether the file shows inline as a photo. */
export function showsInline(file: { contentType: string; size: number }): boolean {
  return file.contentType.startsWith("image/") && file.size <= INLINE_PHOTO_MAX_BYTES;
}

/** "590 B", "12 KB", "3.4 MB" (units of 1024 bytes). */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${shown} ${units[unit]}`;
}
