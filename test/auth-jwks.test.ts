/**
 * Sign-in with an identity provider: RS256 and ES256 tokens checked with the key of their `kid`
 * from `JWT_JWKS` or `JWT_JWKS_URL` (cached, refetched at most once a minute for an unknown
 * `kid`), `iss` and `aud` when configured, and every key confusion refused with 401 before any
 * object is touched. The provider's JWKS endpoint is a stub of the isolate's `fetch`; the
 * cache's clock is passed in, so minutes pass without waiting.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { app } from "../worker/app";
import { type AuthConfig, authenticate } from "../worker/auth";
import { api, unique } from "./helpers/client";

const BASE = "http://chat.test";
const ISSUER = "https://idp.example.com/";
const AUDIENCE = "chat-client-id";
const nowS = () => Math.floor(Date.now() / 1000);

type Jwk = JsonWebKey & { kid?: string };
type Signer = { kid: string; alg: string; sign: (data: Uint8Array) => Promise<ArrayBuffer>; jwk: Jwk; pem: string };

const RSA = {
  name: "RSASSA-PKCS1-v1_5",
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
};
const EC = { name: "ECDSA", namedCurve: "P-256" };

function b64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const part = (v: unknown) => b64url(new TextEncoder().encode(JSON.stringify(v)));

async function pemOf(key: CryptoKey): Promise<string> {
  const der = new Uint8Array((await crypto.subtle.exportKey("spki", key)) as ArrayBuffer);
  const body = b64url(der).replace(/-/g, "+").replace(/_/g, "/");
  return `-----BEGIN PUBLIC KEY-----\n${body.match(/.{1,64}/g)?.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

/** A fresh key pair; its public JWK names `kid`, and `alg` unless `withAlg` is false (as some providers publish). */
async function newSigner(kind: "RS256" | "ES256", kid: string, withAlg = true): Promise<Signer> {
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

type Claims = Record<string, unknown>;

/** A token built by hand: `header` overrides the signer's (`alg`, `kid`, `typ`). */
async function tokenOf(signer: Signer, claims: Claims, header: Record<string, unknown> = {}): Promise<string> {
  const unsigned = `${part({ alg: signer.alg, typ: "JWT", kid: signer.kid, ...header })}.${part(claims)}`;
  const sig = await signer.sign(new TextEncoder().encode(unsigned));
  return `${unsigned}.${b64url(new Uint8Array(sig))}`;
}

/** An HS256 token whose HMAC secret is `secret` as text (a PEM, a JWK, anything). */
async function hmacToken(
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

const valid = (sub: string, extra: Claims = {}): Claims => ({
  sub,
  iss: ISSUER,
  aud: AUDIENCE,
  iat: nowS() - 5,
  exp: nowS() + 600,
  ...extra,
});

/** The provider's JWKS endpoints: what each URL answers, and how often it was asked. */
const served = new Map<string, () => Response | Promise<Response>>();
const fetched = new Map<string, number>();
const realFetch = globalThis.fetch;
let errors: MockInstance<typeof console.error>;

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
  errors.mockRestore();
});

/** A JWKS URL no other test uses (the key cache lives as long as the isolate), serving `keys`. */
function serve(keys: Jwk[]): { url: string; set: (keys: Jwk[]) => void; count: () => number } {
  const url = `https://${unique("idp")}.example.com/.well-known/jwks.json`;
  let current = keys;
  served.set(url, () => Response.json({ keys: current }));
  return { url, set: (k) => (current = k), count: () => fetched.get(url) ?? 0 };
}

/** A clock for the key cache, moved by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = Date.now();
  return { now: () => t, advance: (ms) => (t += ms) };
}

async function expectRefused(token: string | null, config: AuthConfig, label: string): Promise<string> {
  const result = await authenticate(token, config);
  expect(result.ok, label).toBe(false);
  return result.ok ? "" : result.message;
}

/** The test Env with some variables replaced or unset. */
function envWith(vars: Partial<Env>): Env {
  return { ...env, ...vars } as unknown as Env;
}

/** An Env whose object namespaces record and refuse any use, to prove a request never reached them. */
function trappedEnv(vars: Partial<Env>, touched: string[]): Env {
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
async function expect401BeforeObjects(token: string, vars: Partial<Env>, label: string): Promise<void> {
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

describe("RS256 and ES256 tokens from a JWKS", () => {
  it("a valid RS256 or ES256 token names its user, from JWT_JWKS_URL (fetched once) or inline JWT_JWKS", async () => {
    const rs = await newSigner("RS256", "rs-1");
    const es = await newSigner("ES256", "es-1", false);
    const idp = serve([rs.jwk, es.jwk]);
    const config: AuthConfig = { jwksUrl: idp.url, issuer: ISSUER, audience: AUDIENCE };
    expect(await authenticate(await tokenOf(rs, valid("alice")), config)).toEqual({
      ok: true,
      userId: "alice",
      iat: expect.any(Number),
    });
    expect(await authenticate(await tokenOf(es, valid("bob")), config)).toEqual({
      ok: true,
      userId: "bob",
      iat: expect.any(Number),
    });
    expect(await authenticate(await tokenOf(rs, valid("carol", { aud: ["other", AUDIENCE] })), config)).toEqual({
      ok: true,
      userId: "carol",
      iat: expect.any(Number),
    });
    expect(idp.count()).toBe(1);

    const inline: AuthConfig = { jwks: JSON.stringify({ keys: [rs.jwk, es.jwk] }) };
    expect(await authenticate(await tokenOf(es, valid("dave")), inline)).toEqual({
      ok: true,
      userId: "dave",
      iat: expect.any(Number),
    });
    expect(await authenticate(await tokenOf(rs, { sub: "erin", exp: nowS() + 60 }), inline)).toEqual({
      ok: true,
      userId: "erin",
      iat: undefined,
    });
    expect(errors).not.toHaveBeenCalled();
  });

  it("concurrent requests on a cold cache share one fetch", async () => {
    const rs = await newSigner("RS256", "rs-cold");
    const idp = serve([rs.jwk]);
    const token = await tokenOf(rs, valid("alice"));
    const results = await Promise.all(Array.from({ length: 20 }, () => authenticate(token, { jwksUrl: idp.url })));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(idp.count()).toBe(1);
  });

  it("through the app: RS256 opens routes without JWT_SECRET, where HS256 is refused before any object", async () => {
    const rs = await newSigner("RS256", "rs-app");
    const idp = serve([rs.jwk]);
    const vars = { JWT_SECRET: undefined, JWT_JWKS_URL: idp.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
    const id = unique("jwks-app");
    const token = await tokenOf(rs, valid(id));
    const ok = await app.fetch(
      new Request(`${BASE}/v1/chats`, { headers: { Authorization: `Bearer ${token}` } }),
      envWith(vars),
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ chats: [] });
    const upgrade = await app.fetch(
      new Request(`${BASE}/v1/connect?device=d1&token=${token}`, { headers: { Upgrade: "websocket" } }),
      envWith(vars),
    );
    expect(upgrade.status).toBe(101);
    upgrade.webSocket?.accept();
    upgrade.webSocket?.close(1000, "done");

    // The dev token (HS256 with the test secret) is refused once JWT_SECRET is unset.
    const hs = await hmacToken(env.JWT_SECRET, { sub: id, exp: nowS() + 600 }, {});
    expect((await api(hs, "GET", "/v1/chats")).status).toBe(200);
    await expect401BeforeObjects(hs, vars, "HS256 without JWT_SECRET");

    // Both configured: both kinds let in (no JWT_ISSUER on the HS256 token needed).
    const both = envWith({ JWT_JWKS_URL: idp.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    for (const t of [hs, token]) {
      const res = await app.fetch(new Request(`${BASE}/v1/chats`, { headers: { Authorization: `Bearer ${t}` } }), both);
      expect(res.status).toBe(200);
    }
    // Neither configured: 500, as before.
    const none = envWith({ JWT_SECRET: undefined, JWT_JWKS: "", JWT_JWKS_URL: "" });
    const res = await app.fetch(
      new Request(`${BASE}/v1/chats`, { headers: { Authorization: `Bearer ${token}` } }),
      none,
    );
    expect(res.status).toBe(500);
  });

  it("rotation: with two keys both work; once the old one is gone its tokens fail after the refresh", async () => {
    const old = await newSigner("RS256", "2024-old");
    const next = await newSigner("ES256", "2025-new");
    const newest = await newSigner("RS256", "2026-newest");
    const idp = serve([old.jwk, next.jwk]);
    const t = clock();
    const config: AuthConfig = { jwksUrl: idp.url, now: t.now };
    const oldToken = await tokenOf(old, valid("alice"));
    const nextToken = await tokenOf(next, valid("alice"));
    expect((await authenticate(oldToken, config)).ok).toBe(true);
    expect((await authenticate(nextToken, config)).ok).toBe(true);

    // The provider drops the old key: the cache still trusts it until it refreshes...
    idp.set([next.jwk, newest.jwk]);
    t.advance(30_000);
    expect((await authenticate(oldToken, config)).ok).toBe(true);
    // ...which a token of the newest key (unknown kid) causes once a minute has passed.
    t.advance(31_000);
    expect(await authenticate(await tokenOf(newest, valid("bob")), config)).toEqual({
      ok: true,
      userId: "bob",
      iat: expect.any(Number),
    });
    expect(idp.count()).toBe(2);
    expect(await expectRefused(oldToken, config, "old key after refresh")).toMatch(/unknown token key/);
    expect((await authenticate(nextToken, config)).ok).toBe(true);
    expect(idp.count()).toBe(2);

    // The 10-minute TTL refreshes too, without any unknown kid.
    idp.set([newest.jwk]);
    t.advance(10 * 60_000);
    await expectRefused(nextToken, config, "next key after the TTL");
    expect(idp.count()).toBe(3);
  });

  it("an unknown kid refetches once; more unknown kids within a minute, even a flood, do not", async () => {
    const rs = await newSigner("RS256", "known");
    const stranger = await newSigner("RS256", "stranger");
    const idp = serve([rs.jwk]);
    const t = clock();
    const config: AuthConfig = { jwksUrl: idp.url, now: t.now };
    expect((await authenticate(await tokenOf(rs, valid("alice")), config)).ok).toBe(true);
    expect(idp.count()).toBe(1);
    // Just after the first fetch, an unknown kid waits for the minute to pass.
    await expectRefused(await tokenOf(stranger, valid("alice")), config, "unknown kid at once");
    expect(idp.count()).toBe(1);

    t.advance(61_000);
    await expectRefused(await tokenOf(stranger, valid("alice")), config, "unknown kid");
    expect(idp.count()).toBe(2);
    t.advance(30_000);
    const flood = await Promise.all(
      Array.from({ length: 50 }, async () =>
        authenticate(await tokenOf(stranger, valid("alice"), { kid: crypto.randomUUID() }), config),
      ),
    );
    expect(flood.every((r) => !r.ok)).toBe(true);
    expect(idp.count()).toBe(2);
    // The known key still works throughout, from the cache.
    expect((await authenticate(await tokenOf(rs, valid("bob")), config)).ok).toBe(true);

    t.advance(31_000);
    const second = await Promise.all(
      Array.from({ length: 50 }, async () =>
        authenticate(await tokenOf(stranger, valid("alice"), { kid: crypto.randomUUID() }), config),
      ),
    );
    expect(second.every((r) => !r.ok)).toBe(true);
    expect(idp.count()).toBe(3);
  });

  it("claims: exp required and in the future, nbf and iat honoured, iss and aud when configured, sub a user id", async () => {
    const es = await newSigner("ES256", "es-claims");
    const idp = serve([es.jwk]);
    const strict: AuthConfig = { jwksUrl: idp.url, issuer: ISSUER, audience: AUDIENCE };
    const cases: [string, Claims][] = [
      ["expired", valid("alice", { exp: nowS() - 10 })],
      ["no exp", valid("alice", { exp: undefined })],
      ["nbf in the future", valid("alice", { nbf: nowS() + 300 })],
      ["iat in the future", valid("alice", { iat: nowS() + 300 })],
      ["wrong iss", valid("alice", { iss: "https://evil.example.com/" })],
      ["iss with another trailing slash", valid("alice", { iss: ISSUER.slice(0, -1) })],
      ["no iss", valid("alice", { iss: undefined })],
      ["wrong aud", valid("alice", { aud: "another-client" })],
      ["aud array without ours", valid("alice", { aud: ["a", "b"] })],
      ["no aud", valid("alice", { aud: undefined })],
      ["no sub", valid("alice", { sub: undefined })],
      ["sub not a user id", valid("alice", { sub: "auth0|12345" })],
    ];
    for (const [label, claims] of cases) {
      const token = await tokenOf(es, claims);
      await expectRefused(token, strict, label);
      await expect401BeforeObjects(token, { JWT_JWKS_URL: idp.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }, label);
    }
    expect(await expectRefused(await tokenOf(es, valid("a", { iss: "x" })), strict, "iss")).toMatch(/issuer/);
    expect(await expectRefused(await tokenOf(es, valid("a", { aud: "x" })), strict, "aud")).toMatch(/audience/);
    // Without JWT_ISSUER and JWT_AUDIENCE, any iss and aud will do.
    const lax: AuthConfig = { jwksUrl: idp.url };
    expect((await authenticate(await tokenOf(es, valid("alice", { iss: "x", aud: "y" })), lax)).ok).toBe(true);
  });

  it("key confusion: HMAC with the public key, alg none, an oct key, another algorithm than the key's: 401", async () => {
    const rs = await newSigner("RS256", "rs-conf");
    const es = await newSigner("ES256", "es-conf");
    const rsNoAlg = await newSigner("RS256", "rs-noalg", false);
    const octSecret = crypto.getRandomValues(new Uint8Array(32));
    const oct: Jwk = { kty: "oct", kid: "oct-1", alg: "HS256", k: b64url(octSecret) };
    const octNoAlg: Jwk = { kty: "oct", kid: "oct-2", k: b64url(octSecret) };
    // Keys the set must ignore: an encryption key, and keys whose alg contradicts their type.
    const enc = await newSigner("RS256", "rs-enc");
    enc.jwk.use = "enc";
    const ecAsRsa = await newSigner("ES256", "ec-says-rs");
    ecAsRsa.jwk.alg = "RS256";
    const rs512 = await newSigner("RS256", "rs-512");
    rs512.jwk.alg = "RS512";
    const keys = [rs.jwk, es.jwk, rsNoAlg.jwk, oct, octNoAlg, enc.jwk, ecAsRsa.jwk, rs512.jwk];
    const idp = serve(keys);
    const claims = valid("mallory");
    const none = (header: Record<string, unknown>, sig = "") =>
      `${part({ typ: "JWT", ...header })}.${part(claims)}.${sig}`;
    const rsSig = (await tokenOf(rs, claims)).split(".")[2] ?? "";

    const forged: [string, string][] = [
      ["HS256 keyed with the RSA key's PEM", await hmacToken(rs.pem, claims, { kid: rs.kid })],
      ["HS256 keyed with the RSA key's JWK", await hmacToken(JSON.stringify(rs.jwk), claims, { kid: rs.kid })],
      ["HS256 keyed with the EC key's JWK", await hmacToken(JSON.stringify(es.jwk), claims, { kid: es.kid })],
      ["HS256 keyed with the RSA key's n", await hmacToken(rs.jwk.n ?? "", claims, { kid: rs.kid })],
      ["alg none", none({ alg: "none", kid: rs.kid })],
      ["alg none with an RS256 signature", none({ alg: "none", kid: rs.kid }, rsSig)],
      ["alg None", none({ alg: "None", kid: rs.kid })],
      ["no alg", none({ kid: rs.kid }, rsSig)],
      ["kid of an oct key, HS256", await hmacToken(octSecret, claims, { kid: "oct-1" })],
      ["kid of an oct key without alg, HS256", await hmacToken(octSecret, claims, { kid: "oct-2" })],
      ["kid of an oct key, RS256", await tokenOf(rs, claims, { kid: "oct-1" })],
      ["ES256 header, kid of the RSA key", await tokenOf(es, claims, { kid: rs.kid })],
      ["ES256 header, kid of an RSA key without alg", await tokenOf(es, claims, { kid: rsNoAlg.kid })],
      ["RS256 header, kid of the EC key", await tokenOf(rs, claims, { kid: es.kid })],
      ["RS384 header, kid of the RSA key", await tokenOf(rs, claims, { alg: "RS384" })],
      ["PS256 header, kid of the RSA key", await tokenOf(rs, claims, { alg: "PS256" })],
      ["RS512 key", await tokenOf(rs512, claims, { alg: "RS512" })],
      ["RS256 token of an RS512 key", await tokenOf(rs512, claims)],
      ["EC key published as RS256", await tokenOf(ecAsRsa, claims, { alg: "ES256" })],
      ["encryption key", await tokenOf(enc, claims)],
      ["no kid", await tokenOf(rs, claims, { kid: undefined })],
      ["empty kid", await tokenOf(rs, claims, { kid: "" })],
      ["kid a number", await tokenOf(rs, claims, { kid: 1 })],
      ["crit header", await tokenOf(rs, claims, { crit: ["exp"] })],
    ];
    for (const secret of [env.JWT_SECRET, undefined]) {
      for (const [label, token] of forged) {
        const vars = { JWT_SECRET: secret, JWT_JWKS_URL: idp.url };
        await expectRefused(token, { secret, jwksUrl: idp.url }, `${label} (secret ${secret})`);
        await expectRefused(token, { secret, jwks: JSON.stringify({ keys }) }, `${label} inline (secret ${secret})`);
        await expect401BeforeObjects(token, vars, `${label} (secret ${secret})`);
      }
    }
    // The same keys verify honest tokens, so the refusals above are about the forgery.
    expect((await authenticate(await tokenOf(rsNoAlg, claims), { jwksUrl: idp.url })).ok).toBe(true);
    expect((await authenticate(await tokenOf(es, claims), { jwksUrl: idp.url })).ok).toBe(true);
    // Without a kid or with a bad alg nothing is fetched: the one fetch was the first lookup.
    expect(idp.count()).toBe(1);
    const fresh = serve(keys);
    await expectRefused(await tokenOf(rs, claims, { kid: undefined }), { jwksUrl: fresh.url }, "no kid");
    await expectRefused(none({ alg: "none", kid: rs.kid }), { jwksUrl: fresh.url }, "alg none");
    expect(fresh.count()).toBe(0);
  });

  it("a JWKS that cannot be fetched fails closed: 401, one error line naming the URL and the reason, never the token", async () => {
    const rs = await newSigner("RS256", "rs-down");
    const claims = valid("alice");
    const token = await tokenOf(rs, claims);
    const down: [string, () => Response | Promise<Response>, RegExp][] = [
      ["HTTP 503", () => new Response("busy", { status: 503 }), /HTTP 503/],
      ["not JSON", () => new Response("<html>", { headers: { "Content-Type": "text/html" } }), /JSON|Unexpected/i],
      ["no keys", () => Response.json({ issuer: ISSUER }), /"keys"/],
      [
        "network error",
        () => {
          throw new TypeError("connection refused");
        },
        /connection refused/,
      ],
    ];
    for (const [label, answer, reason] of down) {
      const url = `https://${unique("idp-down")}.example.com/jwks.json`;
      served.set(url, answer);
      errors.mockClear();
      expect(await expectRefused(token, { jwksUrl: url }, label)).toMatch(/unavailable/);
      expect(errors, label).toHaveBeenCalledTimes(1);
      const line = String(errors.mock.calls[0]?.[0]);
      expect(line, label).toContain(url);
      expect((JSON.parse(line) as { reason: string }).reason, label).toMatch(reason);
      expect(line, label).not.toContain(token.split(".")[2]);
      // The next request within the minute does not fetch (nor log) again.
      await expectRefused(token, { jwksUrl: url }, `${label}, again`);
      expect(fetched.get(url), label).toBe(1);
      expect(errors, label).toHaveBeenCalledTimes(1);
    }

    // A provider that does not answer in time.
    const slow = `https://${unique("idp-slow")}.example.com/jwks.json`;
    errors.mockClear();
    globalThis.fetch = ((base) => async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      if (req.url !== slow) return base(input, init);
      return new Promise<Response>((_resolve, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      );
    })(globalThis.fetch);
    expect(await expectRefused(token, { jwksUrl: slow, fetchTimeoutMs: 50 }, "timeout")).toMatch(/unavailable/);
    expect(String(errors.mock.calls[0]?.[0])).toMatch(new RegExp(`${slow.replace(/[.]/g, "\\.")}.*50 ms`));

    // A plain-http URL is never fetched.
    errors.mockClear();
    const plain = `http://${unique("idp-http")}.example.com/jwks.json`;
    served.set(plain, () => Response.json({ keys: [rs.jwk] }));
    await expectRefused(token, { jwksUrl: plain }, "http URL");
    expect(fetched.get(plain)).toBeUndefined();
    expect(String(errors.mock.calls[0]?.[0])).toContain(plain);

    // Through the app: 401 before any object, and the log line.
    const url = `https://${unique("idp-app-down")}.example.com/jwks.json`;
    served.set(url, () => new Response(null, { status: 500 }));
    errors.mockClear();
    await expect401BeforeObjects(token, { JWT_SECRET: undefined, JWT_JWKS_URL: url }, "unfetchable JWKS");
    expect(errors).toHaveBeenCalledTimes(1);
    expect(String(errors.mock.calls[0]?.[0])).toContain(url);
  });

  it("once a failed JWKS answers again, a minute later, its tokens work", async () => {
    const rs = await newSigner("RS256", "rs-back");
    const idp = serve([rs.jwk]);
    let up = false;
    served.set(idp.url, () => (up ? Response.json({ keys: [rs.jwk] }) : new Response(null, { status: 502 })));
    const t = clock();
    const config: AuthConfig = { jwksUrl: idp.url, now: t.now };
    const token = await tokenOf(rs, valid("alice"));
    await expectRefused(token, config, "down");
    up = true;
    t.advance(30_000);
    await expectRefused(token, config, "up, within the minute");
    t.advance(31_000);
    expect(await authenticate(token, config)).toEqual({ ok: true, userId: "alice", iat: expect.any(Number) });
    expect(idp.count()).toBe(2);
  });

  it("a bad inline JWT_JWKS lets no RS or ES token in, and says why once", async () => {
    const rs = await newSigner("RS256", "rs-inline");
    const token = await tokenOf(rs, valid("alice"));
    for (const jwks of ["not json", '{"keys":{}}', JSON.stringify([rs.jwk])]) {
      errors.mockClear();
      await expectRefused(token, { jwks }, jwks);
      await expectRefused(token, { jwks }, jwks);
      expect(errors, jwks).toHaveBeenCalledTimes(1);
      expect(String(errors.mock.calls[0]?.[0])).toContain("JWT_JWKS");
      await expect401BeforeObjects(token, { JWT_SECRET: undefined, JWT_JWKS: jwks }, jwks);
    }
  });
});
