/**
 * Identity-provider fixtures for the JWKS tests: RSA and EC signers made with WebCrypto, tokens
 * and HMAC tokens, a JWKS endpoint served by a stub of the isolate's `fetch`, a hand-moved clock
 * for the key cache, and an Env whose object namespaces prove that a refusal touched none.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, expect, type MockInstance, vi } from "vitest";
import { app } from "../../worker/app";
import { type AuthConfig, authenticate } from "../../worker/auth";
import { unique } from "./client";

export const BASE = "http://chat.test";
export const ISSUER = "https://idp.example.com/";
export const AUDIENCE = "chat-client-id";
export const nowS = () => Math.floor(Date.now() / 1000);

export type Jwk = JsonWebKey & { kid?: string };
export type Signer = {
  kid: string;
  alg: string;
  sign: (data: Uint8Array) => Promise<ArrayBuffer>;
  jwk: Jwk;
  pem: string;
};

export const RSA = {
  name: "RSASSA-PKCS1-v1_5",
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
};
export const EC = { name: "ECDSA", namedCurve: "P-256" };

export function b64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const part = (v: unknown) => b64url(new TextEncoder().encode(JSON.stringify(v)));

export async function pemOf(key: CryptoKey): Promise<string> {
  const der = new Uint8Array((await crypto.subtle.exportKey("spki", key)) as ArrayBuffer);
  const body = b64url(der).replace(/-/g, "+").replace(/_/g, "/");
  return `-----BEGIN PUBLIC KEY-----\n${body.match(/.{1,64}/g)?.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

/** A fresh key pair; its public JWK names `kid`, and `alg` unless `withAlg` is false (as some providers publish). */
export async function newSigner(kind: "RS256" | "ES256", kid: string, withAlg = true): Promise<Signer> {
  const pair = (await crypto.subtle.generateKey(kind === "RS256" ? RSA : EC, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const exported = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as Jwk;
  const { key_ops: _ops, ext: _ext, alg: _alg, ...pub } = exported;
  const jwk: Jwk = { ...pub, kid, use: "sig", ...(withAlg ? { alg: kind } : {}) };
  const algorithm = kind === "RS256" ? { name: "RSASSA-PKCS1-v1_5" } : { name: "ECDSA", hash: "SHA-256" };
  return {
    kid,
    alg: kind,
    jwk,
    pem: await pemOf(pair.publicKey),
    sign: (data) => crypto.subtle.sign(algorithm, pair.privateKey, data),
  };
}

export type Claims = Record<string, unknown>;

/** A token built by hand: `header` overrides the signer's (`alg`, `kid`, `typ`). */
export async function tokenOf(signer: Signer, claims: Claims, header: Record<string, unknown> = {}): Promise<string> {
  const unsigned = `${part({ alg: signer.alg, typ: "JWT", kid: signer.kid, ...header })}.${part(claims)}`;
  const sig = await signer.sign(new TextEncoder().encode(unsigned));
  return `${unsigned}.${b64url(new Uint8Array(sig))}`;
}

/** An HS256 token whose HMAC secret is `secret` as text (a PEM, a JWK, anything). */
export async function hmacToken(
  secret: string | Uint8Array,
  claims: Claims,
  header: Record<string, unknown>,
): Promise<string> {
  const raw = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const unsigned = `${part({ alg: "HS256", typ: "JWT", ...header })}.${part(claims)}`;
  const sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(unsigned));
  return `${unsigned}.${b64url(new Uint8Array(sig))}`;
}

export const valid = (sub: string, extra: Claims = {}): Claims => ({
  sub,
  iss: ISSUER,
  aud: AUDIENCE,
  iat: nowS() - 5,
  exp: nowS() + 600,
  ...extra,
});

/** The provider's JWKS endpoints: what each URL answers, and how often it was asked. */
export const served = new Map<string, () => Response | Promise<Response>>();
export const fetched = new Map<string, number>();
const realFetch = globalThis.fetch;

/**
 * Stubs the isolate's `fetch` for the URLs in `served` and silences `console.error` around each
 * test of the calling file; `errors` is that test's spy.
 */
export function jwksStubs(): { readonly errors: MockInstance<typeof console.error> } {
  let errors: MockInstance<typeof console.error> | undefined;
  beforeEach(() => {
    served.clear();
    fetched.clear();
    errors = vi.spyOn(console, "error").mockImplementation(() => {});
    globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      const answer = served.get(req.url);
      if (!answer) return realFetch(input, init);
      fetched.set(req.url, (fetched.get(req.url) ?? 0) + 1);
      return answer();
    };
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
    errors?.mockRestore();
  });
  return {
    get errors() {
      if (!errors) throw new Error("errors is set in beforeEach");
      return errors;
    },
  };
}

/** A JWKS URL no other test uses (the key cache lives as long as the isolate), serving `keys`. */
export function serve(keys: Jwk[]): { url: string; set: (keys: Jwk[]) => void; count: () => number } {
  const url = `https://${unique("idp")}.example.com/.well-known/jwks.json`;
  let current = keys;
  served.set(url, () => Response.json({ keys: current }));
  return { url, set: (k) => (current = k), count: () => fetched.get(url) ?? 0 };
}

/** A clock for the key cache, moved by hand. */
export function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = Date.now();
  return { now: () => t, advance: (ms) => (t += ms) };
}

export async function expectRefused(token: string | null, config: AuthConfig, label: string): Promise<string> {
  const result = await authenticate(token, config);
  expect(result.ok, label).toBe(false);
  return result.ok ? "" : result.message;
}

/** The test Env with some variables replaced or unset. */
export function envWith(vars: Partial<Env>): Env {
  return { ...env, ...vars } as unknown as Env;
}

/** An Env whose object namespaces record and refuse any use, to prove a request never reached them. */
export function trappedEnv(vars: Partial<Env>, touched: string[]): Env {
  const trap = new Proxy(
    {},
    {
      get(_target, prop) {
        touched.push(String(prop));
        throw new Error(`object namespace touched (${String(prop)})`);
      },
    },
  );
  return { ...env, ...vars, USER: trap, CHAT: trap, RELAY: trap } as unknown as Env;
}

/** 401 `unauthorized` on `GET /v1/chats` and on the upgrade, with no object namespace touched. */
export async function expect401BeforeObjects(token: string, vars: Partial<Env>, label: string): Promise<void> {
  for (const req of [
    new Request(`${BASE}/v1/chats`, { headers: { Authorization: `Bearer ${token}` } }),
    new Request(`${BASE}/v1/connect?device=web&token=${encodeURIComponent(token)}`, {
      headers: { Upgrade: "websocket" },
    }),
  ]) {
    const touched: string[] = [];
    const res = await app.fetch(req, trappedEnv(vars, touched));
    expect(res.status, `${label}: ${req.url}`).toBe(401);
    expect(await res.json(), label).toMatchObject({ error: { code: "unauthorized" } });
    expect(touched, label).toEqual([]);
  }
}
