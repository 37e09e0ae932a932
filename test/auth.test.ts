/**
 * Authentication: every route but /health and the dev token route needs a valid HS256 JWT
 * with `sub` and `exp`; anything else is a 401 with a JSON error body, on HTTP and on the upgrade.
 * (RS256 and ES256 tokens from an identity provider: `auth-jwks.test.ts`.)
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { app } from "../worker/app";
import { api, forgeToken, json, tokenFor, unique, upgrade } from "./helpers/client";

const now = () => Math.floor(Date.now() / 1000);

/** Each bad token, built by hand so the test does not trust the code it checks. */
async function badTokens(userId: string): Promise<[string, string | null][]> {
  const good = await tokenFor(userId);
  const [h, p] = good.split(".");
  return [
    ["missing", null],
    ["empty", ""],
    ["malformed", "not-a-jwt"],
    ["two parts", `${h}.${p}`],
    ["garbage parts", "a.b.c"],
    ["expired", await forgeToken({ sub: userId, exp: now() - 10 })],
    ["badly signed", await forgeToken({ sub: userId, exp: now() + 600 }, { secret: "some-other-secret" })],
    [
      "tampered payload",
      `${h}.${btoa(JSON.stringify({ sub: "mallory", exp: now() + 600 })).replace(/=+$/, "")}.${good.split(".")[2]}`,
    ],
    ["alg none", await forgeToken({ sub: userId, exp: now() + 600 }, { alg: "none" })],
    [
      "alg none, HS256 signature",
      `${(await forgeToken({ sub: userId, exp: now() + 600 }, { alg: "none" })).slice(0, -1)}.${good.split(".")[2]}`,
    ],
    ["HS512", await forgeToken({ sub: userId, exp: now() + 600 }, { alg: "HS512" })],
    ["HS384", await forgeToken({ sub: userId, exp: now() + 600 }, { alg: "HS384" })],
    ["not yet valid", await forgeToken({ sub: userId, exp: now() + 600, nbf: now() + 300 })],
    ["issued in the future", await forgeToken({ sub: userId, exp: now() + 600, iat: now() + 300 })],
    ["no exp", await forgeToken({ sub: userId })],
    ["exp not a number", await forgeToken({ sub: userId, exp: String(now() + 600) })],
    ["no sub", await forgeToken({ exp: now() + 600 })],
    ["sub not a user id", await forgeToken({ sub: "bad user/id", exp: now() + 600 })],
  ];
}

async function expect401(res: Response, label: string): Promise<void> {
  expect(res.status, label).toBe(401);
  expect(res.headers.get("Content-Type"), label).toContain("application/json");
  const body = await json<{ error: { code: string; message: string } }>(res);
  expect(body.error.code, label).toBe("unauthorized");
  expect(body.error.message.length, label).toBeGreaterThan(0);
}

/** Exactly 500 `internal` with a JSON error body that names no secret, token or stack frame. */
async function expectNotConfigured(res: Response, label: string, secrets: string[]): Promise<void> {
  expect(res.status, label).toBe(500);
  expect(res.headers.get("Content-Type"), label).toBe("application/json");
  const text = await res.text();
  expect(JSON.parse(text), label).toEqual({ error: { code: "internal", message: expect.any(String) } });
  for (const secret of secrets) expect(text, label).not.toContain(secret);
  // A stack would carry newlines, file positions or `at fn (…)` frames.
  expect(text, label).not.toMatch(/\\n|\.[jt]s:\d|\bat .*:\d+:\d+|Error:/);
}

describe("authentication", () => {
  it("a valid token opens an HTTP route and the upgrade", async () => {
    const id = unique("auth-ok");
    const token = await tokenFor(id);
    expect((await api(token, "GET", "/v1/chats")).status).toBe(200);
    const hand = await forgeToken({ sub: id, exp: now() + 600 });
    expect((await api(hand, "GET", "/v1/chats")).status).toBe(200);
    const res = await upgrade("/v1/connect?device=d1", { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(101);
    res.webSocket?.accept();
    res.webSocket?.close(1000, "done");
    const viaQuery = await upgrade(`/v1/connect?device=d2&token=${token}`);
    expect(viaQuery.status).toBe(101);
    viaQuery.webSocket?.accept();
    viaQuery.webSocket?.close(1000, "done");
  });

  it("refuses every bad token with 401 on HTTP routes", async () => {
    const id = unique("auth-http");
    for (const [label, token] of await badTokens(id)) {
      const headers: Record<string, string> = token === null ? {} : { Authorization: `Bearer ${token}` };
      for (const [method, path] of [
        ["GET", "/v1/chats"],
        ["POST", "/v1/chats"],
        ["GET", `/v1/chats/d~${id}~zz/messages`],
      ] as const) {
        const res = await app.request(path, { method, headers }, env);
        await expect401(res, `${label}: ${method} ${path}`);
      }
    }
  });

  it("refuses every bad token with 401 on the upgrade, as header and as ?token=", async () => {
    const id = unique("auth-ws");
    for (const [label, token] of await badTokens(id)) {
      if (token === null) {
        await expect401(await upgrade("/v1/connect?device=d1"), `${label}`);
        continue;
      }
      await expect401(
        await upgrade("/v1/connect?device=d1", { Authorization: `Bearer ${token}` }),
        `${label} (header)`,
      );
      await expect401(await upgrade(`/v1/connect?device=d1&token=${encodeURIComponent(token)}`), `${label} (?token=)`);
    }
  });

  it("refuses other Authorization schemes", async () => {
    const token = await tokenFor(unique("auth-scheme"));
    for (const header of [token, `Basic ${token}`, `Bearer`, `Bearer ${token} extra`]) {
      await expect401(await app.request("/v1/chats", { headers: { Authorization: header } }, env), header);
    }
  });

  it("accepts ?token= on the upgrade only, never on plain HTTP routes", async () => {
    const token = await tokenFor(unique("auth-query"));
    await expect401(await api(null, "GET", `/v1/chats?token=${token}`), "GET /v1/chats?token=");
    await expect401(
      await app.request(`/v1/chats?token=${token}`, { headers: { Upgrade: "websocket" } }, env),
      "GET /v1/chats?token= with an Upgrade header",
    );
  });

  it("on the upgrade, a bad Authorization header is not rescued by a good ?token=", async () => {
    const token = await tokenFor(unique("auth-both"));
    await expect401(
      await upgrade(`/v1/connect?device=d1&token=${token}`, { Authorization: "Bearer not-a-jwt" }),
      "bad header, good query",
    );
  });

  it("/health needs no token", async () => {
    const res = await api(null, "GET", "/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('the dev token route is 404 unless DEV_AUTH is "true"', async () => {
    const init = {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ userId: "alice" }),
    };
    for (const devAuth of ["false", "", "TRUE", "1", undefined]) {
      const res = await app.request("/v1/dev/token", init, { ...env, DEV_AUTH: devAuth });
      expect(res.status, `DEV_AUTH=${devAuth}`).toBe(404);
      const text = await res.text();
      expect(JSON.parse(text).error.code).toBe("not_found");
      expect(text).not.toContain('token":');
    }
    const on = await app.request("/v1/dev/token", init, env);
    expect(on.status).toBe(200);
  });

  it("the dev token route refuses bad bodies", async () => {
    for (const body of ["", "nope", "{}", '{"userId":""}', '{"userId":"a b"}', '{"userId":"a","x":1}']) {
      const res = await app.request("/v1/dev/token", { method: "POST", body }, env);
      expect(res.status, body).toBe(400);
      expect((await json<{ error: { code: string } }>(res)).error.code).toBe("bad_request");
    }
  });

  it("fails closed without JWT_SECRET: no authenticated route lets anyone in", async () => {
    const id = unique("auth-nosecret");
    const token = await tokenFor(id);
    const emptySigned = await forgeToken({ sub: id, exp: now() + 600 }, { secret: "" }).catch(() => null);
    const secrets = [env.JWT_SECRET, token, ...(emptySigned ? [emptySigned] : [])];
    for (const secret of [undefined, ""]) {
      const bare = { ...env, JWT_SECRET: secret };
      for (const t of [token, emptySigned, null]) {
        const headers: Record<string, string> = t ? { Authorization: `Bearer ${t}` } : {};
        for (const [method, path] of [
          ["GET", "/v1/chats"],
          ["POST", "/v1/chats"],
          ["GET", `/v1/chats/d~${id}~zz`],
          ["GET", "/v1/connect?device=d1"],
        ] as const) {
          for (const upgrade of [{}, { Upgrade: "websocket" }] as Record<string, string>[]) {
            const res = await app.request(path, { method, headers: { ...headers, ...upgrade } }, bare);
            const label = `${method} ${path} ${JSON.stringify(upgrade)} secret=${JSON.stringify(secret)} token=${t === token}`;
            await expectNotConfigured(res, label, secrets);
          }
        }
      }
      const dev = await app.request("/v1/dev/token", { method: "POST", body: '{"userId":"x"}' }, bare);
      await expectNotConfigured(dev, "POST /v1/dev/token", secrets);
    }
    expect((await app.request("/health", {}, { ...env, JWT_SECRET: undefined })).status).toBe(200);
  });

  it("without JWT_SECRET but with a key set, an HS256 token is a 401, not a 500; empty variables are unset", async () => {
    const id = unique("auth-jwks-only");
    const token = await tokenFor(id);
    const quiet = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const jwksOnly = { ...env, JWT_SECRET: undefined, JWT_JWKS: JSON.stringify({ keys: [] }) };
      const blank = { ...env, JWT_SECRET: "", JWT_JWKS: "", JWT_JWKS_URL: "" };
      for (const [method, path] of [
        ["GET", "/v1/chats"],
        ["POST", "/v1/chats"],
        ["GET", `/v1/chats/d~${id}~zz`],
      ] as const) {
        const headers = { Authorization: `Bearer ${token}` };
        await expect401(await app.request(path, { method, headers }, jwksOnly), `${method} ${path}, key set only`);
        await expectNotConfigured(await app.request(path, { method, headers }, blank), `${method} ${path}, blank`, [
          token,
        ]);
      }
    } finally {
      quiet.mockRestore();
    }
  });
});
