/**
 * A file checked before it is uploaded, as the server will check it (protocol v1.1,
 * "Attachments"): not empty, not over the size limit, of an accepted type, and for images and
 * PDF starting with the type's signature. A refusal here costs no request; a server with other
 * limits still answers with its own refusal.
 */
import { cleanFileName, mediaType, SNIFF_BYTES, sniffMatches, typeFromName } from "../protocol/attachments";
import { ProtocolError } from "../protocol/errors";

/** What may be sent: a `Blob` (a browser's `File` is one) or the bytes themselves. */
export type FileBody = Blob | Uint8Array | ArrayBuffer;

export interface FileLimits {
  maxBytes: number;
  types: ReadonlySet<string>;
}

/** A file ready to upload: its bytes as a Blob of its type, the cleaned name and the type. */
export interface CheckedFile {
  blob: Blob;
  name: string;
  contentType: string;
}

/** The media type of a file: the one given, else the Blob's own, else one from the name's extension. */
export function typeOfFile(file: FileBody, name: string, given?: string): string {
  const declared = mediaType(given) || (file instanceof Blob ? mediaType(file.type) : "");
  if (declared) return declared;
  return typeFromName(name);
}

/** Checks `file` against `limits`; rejects with `too_large` or `bad_request` as the server would. */
export async function checkFile(
  file: FileBody,
  options: { name: string; contentType?: string },
  limits: FileLimits,
): Promise<CheckedFile> {
  const name = cleanFileName(options.name);
  const contentType = typeOfFile(file, options.name, options.contentType);
  const blob = asBlob(file, contentType);
  if (blob.size === 0) throw new ProtocolError("bad_request", "the file is empty");
  if (blob.size > limits.maxBytes)
    throw new ProtocolError("too_large", `a file may have at most ${limits.maxBytes} bytes`);
  if (!limits.types.has(contentType))
    throw new ProtocolError("bad_request", `files of type '${contentType.slice(0, 100)}' are not accepted`);
  const head = new Uint8Array(await blob.slice(0, SNIFF_BYTES).arrayBuffer());
  if (!sniffMatches(contentType, head))
    throw new ProtocolError("bad_request", `the file's first bytes are not those of ${contentType}`);
  return { blob, name, contentType };
}

/** The bytes as a Blob of `type` (a Blob of another type is wrapped, not copied). */
function asBlob(file: FileBody, type: string): Blob {
  if (file instanceof Blob) return mediaType(file.type) === type ? file : new Blob([file], { type });
  // A Blob copies the view's own bytes; one over a SharedArrayBuffer is copied first (Blob refuses it).
  const bytes = file instanceof Uint8Array ? file : new Uint8Array(file);
  return new Blob([isOwnBuffer(bytes) ? bytes : bytes.slice()], { type });
}

function isOwnBuffer(bytes: Uint8Array): bytes is Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer;
}
