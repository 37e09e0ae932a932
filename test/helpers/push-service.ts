/**
 * A push service for tests, written from the RFCs and not from the code under test: a
 * subscriber's key pair (what a browser makes), decryption of an `aes128gcm` push (RFC 8291 /
 * RFC 8188) and verification of its VAPID JWT (RFC 8292).
 */

const enc = new TextEncoder();

export function b64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function unb64url(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** A browser's side of a subscription: its ECDH key pair and auth secret. */
export interface Subscriber {
  keys: { p256dh: string; auth: string };
  privateKey: CryptoKey;
  publicRaw: Uint8Array;
  auth: Uint8Array;
}

export async function newSubscriber(): Promise<Subscriber> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const publicRaw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const auth = crypto.getRandomValues(new Uint8Array(16));
  return { keys: { p256dh: b64url(publicRaw), auth: b64url(auth) }, privateKey: pair.privateKey, publicRaw, auth };
}

async function hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
};

/** Decrypts an `aes128gcm` push body for `sub`; answers the plaintext and the padded length. */
export async function decryptPush(sub: Subscriber, body: Uint8Array): Promise<{ text: string; recordBytes: number }> {
  const salt = body.subarray(0, 16);
  const idLength = body[20] as number;
  const senderPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  const senderKey = await crypto.subtle.importKey(
    "raw",
    senderPublic,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  // The standard member is `public`; workers-types spells it `$public`, which the runtime does not read.
  const ecdh = { name: "ECDH", public: senderKey } as unknown as SubtleCryptoDeriveKeyAlgorithm;
  const shared = new Uint8Array(await crypto.subtle.deriveBits(ecdh, sub.privateKey, 256));
  const prkKey = await hmac(sub.auth, shared);
  const keyInfo = concat(enc.encode("WebPush: info\0"), sub.publicRaw, senderPublic, new Uint8Array([1]));
  const ikm = await hmac(prkKey, keyInfo);
  const prk = await hmac(salt, ikm);
  const cek = (await hmac(prk, concat(enc.encode("Content-Encoding: aes128gcm\0"), new Uint8Array([1])))).subarray(
    0,
    16,
  );
  const nonce = (await hmac(prk, concat(enc.encode("Content-Encoding: nonce\0"), new Uint8Array([1])))).subarray(0, 12);
  const key = await crypto.subtle.importKey("raw", cek, { name: "AES-GCM" }, false, ["decrypt"]);
  const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, ciphertext));
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("no last-record delimiter");
  return { text: new TextDecoder().decode(padded.subarray(0, end)), recordBytes: padded.length };
}

/** Checks a push's `Authorization: vapid t=..., k=...`; answers its claims. */
export async function verifyVapid(
  header: string | null,
  endpoint: string,
): Promise<{ aud: string; exp: number; sub: string; publicKey: string }> {
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header ?? "");
  if (!m?.[1] || !m[2]) throw new Error(`not a VAPID header: ${header}`);
  const [head, claims, signature] = m[1].split(".") as [string, string, string];
  const publicKey = await crypto.subtle.importKey(
    "raw",
    unb64url(m[2]),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    publicKey,
    unb64url(signature),
    enc.encode(`${head}.${claims}`),
  );
  if (!ok) throw new Error("VAPID signature does not verify");
  const header0 = JSON.parse(new TextDecoder().decode(unb64url(head))) as { alg: string };
  if (header0.alg !== "ES256") throw new Error(`VAPID alg ${header0.alg}`);
  const c = JSON.parse(new TextDecoder().decode(unb64url(claims))) as { aud: string; exp: number; sub: string };
  if (c.aud !== new URL(endpoint).origin) throw new Error(`aud ${c.aud}`);
  const now = Date.now() / 1000;
  if (!(c.exp > now && c.exp <= now + 24 * 3600)) throw new Error(`exp ${c.exp}`);
  return { ...c, publicKey: m[2] };
}
