/**
 * Sign-in with an identity provider: RS256 and ES256 tokens checked with the key of their `kid`
 * from `JWT_JWKS` or `JWT_JWKS_URL` (cached, refetched at most once a minute for an unknown
 * `kid`), `iss` and `aud` when configured, and every key confusion refused with 401 before any
 * object is touched. The provider's JWKS endpoint is a stub of the isolate's `fetch`; the
 * cache's clock is passed in, so minutes pass without waiting.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../worker/app";

import { type AuthConfig, authenticate } from "../worker/auth";
import { api, unique } from "./helpers/client";
import {
  AUDIENCE,
  BASE,
  type Claims,
  clock,
  envWith,
  expect401BeforeObjects,
  expectRefused,
  hmacToken,
  ISSUER,
  jwksStubs,
  newSigner,
  nowS,
  serve,
  tokenOf,
  valid,
} from "./helpers/jwks";

const stubs = jwksStubs();

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
    expect(stubs.errors).not.toHaveBeenCalled();
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
});
