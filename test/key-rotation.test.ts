/**
 * Rotating the HS256 secret: while `JWT_SECRET_PREVIOUS` is set, tokens signed with it verify
 * as well as those signed with `JWT_SECRET`; once it is unset they are refused. Dev tokens are
 * signed with `JWT_SECRET` only.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../worker/app";
import { forgeToken, unique } from "./helpers/client";

const BASE = "https://chat.example";
const OLD = "the-secret-before";
const NEW = "the-secret-now";

function envWith(vars: Partial<Env>): Env {
  return { ...env, ...vars } as unknown as Env;
}

const rotating = envWith({ JWT_SECRET: NEW, JWT_SECRET_PREVIOUS: OLD });
const rotated = envWith({ JWT_SECRET: NEW, JWT_SECRET_PREVIOUS: undefined });

function get(token: string, e: Env): Promise<Response> {
  return Promise.resolve(
    app.fetch(new Request(`${BASE}/v1/chats`, { headers: { Authorization: `Bearer ${token}` } }), e),
  );
}

const exp = () => Math.floor(Date.now() / 1000) + 600;

describe("JWT secret rotation", () => {
  it("while JWT_SECRET_PREVIOUS is set, tokens of either secret verify; a third secret does not", async () => {
    const sub = unique("rot");
    expect((await get(await forgeToken({ sub, exp: exp() }, { secret: OLD }), rotating)).status).toBe(200);
    expect((await get(await forgeToken({ sub, exp: exp() }, { secret: NEW }), rotating)).status).toBe(200);
    const other = await get(await forgeToken({ sub, exp: exp() }, { secret: "a-third-secret" }), rotating);
    expect(other.status).toBe(401);
    expect(await other.json()).toMatchObject({ error: { code: "unauthorized", message: "bad token signature" } });
  });

  it("an expired token of the previous secret stays refused as expired", async () => {
    const token = await forgeToken({ sub: unique("rot"), exp: Math.floor(Date.now() / 1000) - 10 }, { secret: OLD });
    const res = await get(token, rotating);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { message: "token expired" } });
  });

  it("once JWT_SECRET_PREVIOUS is unset, the old secret's tokens are refused; the new one's still verify", async () => {
    const sub = unique("rot");
    const old = await forgeToken({ sub, exp: exp() }, { secret: OLD });
    expect((await get(old, rotating)).status).toBe(200);
    const refused = await get(old, rotated);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { message: "bad token signature" } });
    expect((await get(await forgeToken({ sub, exp: exp() }, { secret: NEW }), rotated)).status).toBe(200);
  });

  it("dev tokens are signed with JWT_SECRET, not the previous one", async () => {
    const res = await app.fetch(
      new Request(`${BASE}/v1/dev/token`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ userId: unique("rot") }),
      }),
      rotating,
    );
    const { token } = (await res.json()) as { token: string };
    expect((await get(token, rotated)).status).toBe(200);
    expect((await get(token, envWith({ JWT_SECRET: OLD }))).status).toBe(401);
  });
});
