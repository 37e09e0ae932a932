/**
 * `GET /health/deep`: behind the secret `X-Health-Token` (absent secret: no such route); one
 * round trip to each object class and a write and read in R2, each timed; 503 naming what failed.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../worker/app";

const TOKEN = "health-secret-for-tests";

function envWith(vars: Record<string, unknown>): Env {
  return { ...env, HEALTH_TOKEN: TOKEN, ...vars } as unknown as Env;
}

function deep(token?: string): Request {
  return new Request("https://chat.example/health/deep", {
    headers: token === undefined ? {} : { "X-Health-Token": token },
  });
}

/** A namespace whose objects do not answer a ping. */
const brokenNamespace = {
  idFromName: () => ({}),
  get: () => ({ ping: () => Promise.reject(new Error("object unreachable")) }),
};

describe("deep health", () => {
  it("with the token: every check passes, each timed in ms; the probe is in R2 under health/", async () => {
    const res = await app.fetch(deep(TOKEN), envWith({}));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ok: boolean; checks: Record<string, number> };
    expect(body.ok).toBe(true);
    expect(Object.keys(body.checks).sort()).toEqual(["chat", "r2", "relay", "user"]);
    for (const ms of Object.values(body.checks)) expect(ms).toBeGreaterThanOrEqual(0);
    expect(await env.ATTACHMENTS.head("health/probe")).not.toBeNull();
  });

  it("without the token or with a wrong one: 401; with HEALTH_TOKEN unset: 404, whatever is sent", async () => {
    for (const token of [undefined, "", "wrong", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const res = await app.fetch(deep(token), envWith({}));
      expect(res.status, String(token)).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
    }
    for (const token of [undefined, "", TOKEN]) {
      const res = await app.fetch(deep(token), envWith({ HEALTH_TOKEN: undefined }));
      expect(res.status).toBe(404);
    }
  });

  it("a failing object class or bucket: 503, naming it, with the checks that passed", async () => {
    const failingBucket = { put: () => Promise.reject(new Error("bucket down")), head: () => Promise.resolve(null) };
    const res = await app.fetch(deep(TOKEN), envWith({ RELAY: brokenNamespace, ATTACHMENTS: failingBucket }));
    expect(res.status).toBe(503);
    const body = (await res.json()) as { ok: boolean; checks: Record<string, number>; failed: Record<string, string> };
    expect(body.ok).toBe(false);
    expect(Object.keys(body.checks).sort()).toEqual(["chat", "user"]);
    expect(body.failed).toEqual({ relay: "object unreachable", r2: "bucket down" });
  });

  it("/health stays cheap: no object or bucket touched, no token needed", async () => {
    const res = await app.fetch(
      new Request("https://chat.example/health"),
      envWith({ USER: brokenNamespace, CHAT: brokenNamespace, RELAY: brokenNamespace, ATTACHMENTS: null }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});
