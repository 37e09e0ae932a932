/**
 * Sign-in with an identity provider, the refusals: every key confusion (HMAC with a public key,
 * `alg: none`, an `oct` key, another algorithm than the key's) and key sets that cannot be fetched
 * or parsed fail closed with 401 before any object is touched, and say why in one log line.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type AuthConfig, authenticate } from "../worker/auth";
import { unique } from "./helpers/client";
import {
  b64url,
  clock,
  expect401BeforeObjects,
  expectRefused,
  fetched,
  hmacToken,
  ISSUER,
  type Jwk,
  jwksStubs,
  newSigner,
  part,
  serve,
  served,
  tokenOf,
  valid,
} from "./helpers/jwks";

const stubs = jwksStubs();

describe("RS256 and ES256 tokens refused: key confusion and key sets that fail", () => {
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
      stubs.errors.mockClear();
      expect(await expectRefused(token, { jwksUrl: url }, label)).toMatch(/unavailable/);
      expect(stubs.errors, label).toHaveBeenCalledTimes(1);
      const line = String(stubs.errors.mock.calls[0]?.[0]);
      expect(line, label).toContain(url);
      expect((JSON.parse(line) as { reason: string }).reason, label).toMatch(reason);
      expect(line, label).not.toContain(token.split(".")[2]);
      // The next request within the minute does not fetch (nor log) again.
      await expectRefused(token, { jwksUrl: url }, `${label}, again`);
      expect(fetched.get(url), label).toBe(1);
      expect(stubs.errors, label).toHaveBeenCalledTimes(1);
    }

    // A provider that does not answer in time.
    const slow = `https://${unique("idp-slow")}.example.com/jwks.json`;
    stubs.errors.mockClear();
    globalThis.fetch = ((base) => async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      if (req.url !== slow) return base(input, init);
      return new Promise<Response>((_resolve, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      );
    })(globalThis.fetch);
    expect(await expectRefused(token, { jwksUrl: slow, fetchTimeoutMs: 50 }, "timeout")).toMatch(/unavailable/);
    expect(String(stubs.errors.mock.calls[0]?.[0])).toMatch(new RegExp(`${slow.replace(/[.]/g, "\\.")}.*50 ms`));

    // A plain-http URL is never fetched.
    stubs.errors.mockClear();
    const plain = `http://${unique("idp-http")}.example.com/jwks.json`;
    served.set(plain, () => Response.json({ keys: [rs.jwk] }));
    await expectRefused(token, { jwksUrl: plain }, "http URL");
    expect(fetched.get(plain)).toBeUndefined();
    expect(String(stubs.errors.mock.calls[0]?.[0])).toContain(plain);

    // Through the app: 401 before any object, and the log line.
    const url = `https://${unique("idp-app-down")}.example.com/jwks.json`;
    served.set(url, () => new Response(null, { status: 500 }));
    stubs.errors.mockClear();
    await expect401BeforeObjects(token, { JWT_SECRET: undefined, JWT_JWKS_URL: url }, "unfetchable JWKS");
    expect(stubs.errors).toHaveBeenCalledTimes(1);
    expect(String(stubs.errors.mock.calls[0]?.[0])).toContain(url);
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
      stubs.errors.mockClear();
      await expectRefused(token, { jwks }, jwks);
      await expectRefused(token, { jwks }, jwks);
      expect(stubs.errors, jwks).toHaveBeenCalledTimes(1);
      expect(String(stubs.errors.mock.calls[0]?.[0])).toContain("JWT_JWKS");
      await expect401BeforeObjects(token, { JWT_SECRET: undefined, JWT_JWKS: jwks }, jwks);
    }
  });
});
