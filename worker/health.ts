/**
 * `GET /health/deep`: one round trip to each Durable Object class (its `ping()`) and a small
 * write and read in R2 under `health/`, each timed. Only for callers with the secret
 * `HEALTH_TOKEN` in `X-Health-Token` (compared in constant time); without the secret set the
 * route does not exist (404). Answers 200 `{ok: true, checks: {name: ms}}`, or 503 with
 * `ok: false` and `failed: {name: why}` beside the checks that passed.
 */
import type { Context } from "hono";
import { chatStub, relayStub, userStub } from "../objects/stubs";
import { type AppEnv, errorResponse } from "./http";

const CHECK_TIMEOUT_MS = 5_000;
/** Not a valid user or chat id, so no real user's or chat's object is ever woken by a check. */
const PROBE_NAME = "~health";
const R2_KEY = "health/probe";

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/** Equal in constant time: both are hashed first, so neither length nor content leaks. */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

async function timed(check: () => Promise<unknown>): Promise<{ ms: number } | { error: string }> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return { ms: Date.now() - started };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function checksOf(env: Env): Record<string, () => Promise<unknown>> {
  return {
    user: () => userStub(env, PROBE_NAME).ping(),
    chat: () => chatStub(env, PROBE_NAME).ping(),
    relay: () => relayStub(env, PROBE_NAME, 0).ping(),
    r2: async () => {
      await env.ATTACHMENTS.put(R2_KEY, new Date().toISOString());
      if (!(await env.ATTACHMENTS.head(R2_KEY))) throw new Error("written probe not found");
    },
  };
}

export async function deepHealth(c: Context<AppEnv>): Promise<Response> {
  const expected = c.env.HEALTH_TOKEN;
  if (!expected) return errorResponse(c, "not_found", "no such route");
  if (!(await sameSecret(c.req.header("X-Health-Token") ?? "", expected))) {
    return errorResponse(c, "unauthorized", "X-Health-Token is missing or wrong");
  }
  const entries = Object.entries(checksOf(c.env));
  const results = await Promise.all(entries.map(([, check]) => timed(check)));
  const checks: Record<string, number> = {};
  const failed: Record<string, string> = {};
  entries.forEach(([name], i) => {
    const r = results[i];
    if (r && "ms" in r) checks[name] = r.ms;
    else if (r) failed[name] = r.error;
  });
  c.header("Cache-Control", "no-store");
  if (Object.keys(failed).length === 0) return c.json({ ok: true, checks });
  return c.json({ ok: false, checks, failed }, 503);
}
