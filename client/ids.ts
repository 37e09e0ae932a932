/**
 * Random ids chosen by the client: message ids and device ids. Built on getRandomValues, which
 * (unlike randomUUID) browsers offer on plain-http pages too.
 */
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function randomId(length = 20): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let id = "";
  // 36 does not divide 256; the slight bias is harmless for ids that only need to be unique.
  for (const b of bytes) id += ALPHABET[b % ALPHABET.length];
  return id;
}

/** A fresh clientMsgId: 1 to 64 characters, unique per sender. */
export function newClientMsgId(): string {
  return `m-${Date.now().toString(36)}-${randomId(12)}`;
}

/** A fresh device id for a new install: `[A-Za-z0-9_.-]`, at most 64 characters. */
export function newDeviceId(prefix = "dev"): string {
  return `${prefix}-${randomId(16)}`;
}
