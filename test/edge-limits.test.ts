/**
 * Limits at the edge, per client address, in the project `workers-operations` (wrangler.toml's
 * limits replaced by 3 per 10 s, the shortest period a binding allows; `EDGE_LIMIT_PERIOD_S`
 * 10). Each test uses its own `cf-connecting-ip`, so the counters are its own. The emulated
 * binding counts in windows aligned to the wall clock (`floor(now / period)`), so a test that
 * must stay within one window starts early enough in it, and recovery is waited for: the next
 * window, at most 10 s away.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgeToken, unique } from "./helpers/client";

const LIMIT = 3;
const PERIOD_MS = 10_000;
let nextAddress = 1;
const address = () => `203.0.113.${nextAddress++}`;

function call(ip: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("cf-connecting-ip", ip);
  return exports.default.fetch(`https://chat.example${path}`, { ...init, headers });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const goodToken = () => forgeToken({ sub: unique("edge"), exp: Math.floor(Date.now() / 1000) + 600 });
const badToken = () =>
  forgeToken({ sub: unique("edge"), exp: Math.floor(Date.now() / 1000) + 600 }, { secret: "wrong" });

/** Waits for the next window when fewer than `needMs` are left in this one. */
async function roomInWindow(needMs = 4_000): Promise<void> {
  const left = PERIOD_MS - (Date.now() % PERIOD_MS);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 100));
}

/** Waits until the window of `since` is over. */
async function nextWindowAfter(since: number): Promise<void> {
  const end = Math.floor(since / PERIOD_MS + 1) * PERIOD_MS;
  await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now()) + 100));
}

async function expect429(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  expect(res.headers.get("Retry-After")).toBe("10");
  expect(await res.json()).toMatchObject({ error: { code: "rate_limited" } });
}

const devToken = (ip: string) =>
  call(ip, "/v1/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userId: unique("edge") }),
  });

describe("edge limits", () => {
  it("WebSocket upgrade attempts: over the limit from one address 429, before authentication; others unaffected", async () => {
    await roomInWindow();
    const ip = address();
    const upgrade = (from: string) => call(from, "/v1/connect?device=web", { headers: { Upgrade: "websocket" } });
    for (let i = 0; i < LIMIT; i++) expect((await upgrade(ip)).status).toBe(401);
    await expect429(await upgrade(ip));
    // A good token does not help: the attempt is refused before it is read.
    await expect429(
      await call(ip, "/v1/connect?device=web", { headers: { Upgrade: "websocket", ...bearer(await goodToken()) } }),
    );
    expect((await upgrade(address())).status).toBe(401);
    // Other routes from the same address are not upgrade attempts.
    expect((await call(ip, "/v1/chats", { headers: bearer(await goodToken()) })).status).toBe(200);
  });

  it("failed tokens: over the limit the address is refused for the period, good token included, then let in again", async () => {
    await roomInWindow();
    const ip = address();
    // A missing token is not a failed verification: it does not count.
    for (let i = 0; i < LIMIT + 2; i++) expect((await call(ip, "/v1/chats")).status).toBe(401);
    for (let i = 0; i < LIMIT; i++)
      expect((await call(ip, "/v1/chats", { headers: bearer(await badToken()) })).status).toBe(401);
    const blockedAt = Date.now();
    await expect429(await call(ip, "/v1/chats", { headers: bearer(await badToken()) }));
    await expect429(await call(ip, "/v1/chats", { headers: bearer(await goodToken()) }));
    expect((await call(address(), "/v1/chats", { headers: bearer(await goodToken()) })).status).toBe(200);

    await new Promise((r) => setTimeout(r, Math.max(0, blockedAt + PERIOD_MS - Date.now()) + 100));
    await nextWindowAfter(blockedAt);
    expect((await call(ip, "/v1/chats", { headers: bearer(await goodToken()) })).status).toBe(200);
    expect((await call(ip, "/v1/chats", { headers: bearer(await badToken()) })).status).toBe(401);
  });

  it("a 401 of a route after the token verified (a sign-in too old to export) is not a failed token", async () => {
    await roomInWindow();
    const ip = address();
    const issuedAt = Math.floor(Date.now() / 1000) - 3_600;
    const old = await forgeToken({ sub: unique("edge"), iat: issuedAt, exp: issuedAt + 7_200 });
    for (let i = 0; i < LIMIT + 2; i++)
      expect((await call(ip, "/v1/me/export", { headers: bearer(old) })).status).toBe(401);
    expect((await call(ip, "/v1/chats", { headers: bearer(await goodToken()) })).status).toBe(200);
  });

  it("dev tokens: over the limit 429 with Retry-After, then issued again in the next window", async () => {
    await roomInWindow();
    const ip = address();
    for (let i = 0; i < LIMIT; i++) expect((await devToken(ip)).status).toBe(200);
    const refusedAt = Date.now();
    await expect429(await devToken(ip));
    expect((await devToken(address())).status).toBe(200);
    await nextWindowAfter(refusedAt);
    expect((await devToken(ip)).status).toBe(200);
  });
});
