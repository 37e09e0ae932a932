/**
 * VAPID (RFC 8292): the server's P-256 key pair from `VAPID_PRIVATE_KEY` (the private scalar,
 * base64url, as `npm run vapid:keys` prints it), its public key derived from it, and the ES256
 * JWT each push carries (`aud` the push service's origin, `exp` within 24 h, `sub` the contact).
 * During a rotation the key before (`VAPID_PRIVATE_KEY_PREVIOUS`) rides along as `previous`.
 */

export interface VapidKey {
  /** The uncompressed public key (65 bytes), base64url: for `PushManager.subscribe` and the `k=` parameter. */
  publicKey: string;
  signing: CryptoKey;
  subject: string;
  /** The key before this one, while a rotation is under way: subscriptions made with it need it. */
  previous?: VapidKey;
}

// PKCS #8 wrapping of an RFC 5915 ECPrivateKey on P-256 holding only the 32-byte scalar: the
// runtime derives the public point on import.
const PKCS8_PREFIX = hex("3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420");

function hex(s: string): Uint8Array {
  return new Uint8Array((s.match(/../g) ?? []).map((h) => Number.parseInt(h, 16)));
}

export function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * The key pair of `privateKey` (base64url scalar); null when it is not a P-256 private key.
 * With `previousKey` (a rotation), that pair too, as `previous`; ignored when it is not a key.
 */
export async function loadVapidKey(
  privateKey: string | undefined,
  subject: string | undefined,
  previousKey?: string,
): Promise<VapidKey | null> {
  const key = await loadOne(privateKey, subject);
  const previous = key && previousKey ? await loadOne(previousKey, subject) : null;
  return key && previous ? { ...key, previous } : key;
}

async function loadOne(privateKey: string | undefined, subject: string | undefined): Promise<VapidKey | null> {
  const d = privateKey ? fromBase64url(privateKey.trim()) : null;
  if (d?.byteLength !== 32) return null;
  const der = new Uint8Array(PKCS8_PREFIX.byteLength + 32);
  der.set(PKCS8_PREFIX);
  der.set(d, PKCS8_PREFIX.byteLength);
  try {
    const extractable = await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
    ]);
    const jwk = (await crypto.subtle.exportKey("jwk", extractable)) as JsonWebKey;
    const x = fromBase64url(jwk.x ?? "");
    const y = fromBase64url(jwk.y ?? "");
    if (!x || !y) return null;
    const point = new Uint8Array(65);
    point[0] = 4;
    point.set(x, 1);
    point.set(y, 33);
    const signing = await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
    ]);
    return { publicKey: base64url(point), signing, subject: subject?.trim() || "mailto:admin@localhost" };
  } catch {
    return null;
  }
}

/** The `Authorization` header of a push to `endpoint`: `vapid t=<JWT>, k=<public key>`. */
export async function vapidAuthorization(key: VapidKey, endpoint: string, now = Date.now()): Promise<string> {
  const json = (v: object) => base64url(new TextEncoder().encode(JSON.stringify(v)));
  const claims = { aud: new URL(endpoint).origin, exp: Math.floor(now / 1000) + 12 * 3600, sub: key.subject };
  const unsigned = `${json({ typ: "JWT", alg: "ES256" })}.${json(claims)}`;
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key.signing,
    new TextEncoder().encode(unsigned),
  );
  return `vapid t=${unsigned}.${base64url(new Uint8Array(signature))}, k=${key.publicKey}`;
}
