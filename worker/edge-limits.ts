/**
 * Limits at the edge, per client address (`cf-connecting-ip`; absent locally, where every
 * request shares one key), for what comes before authentication: WebSocket upgrade attempts,
 * failed token verifications and dev tokens, each a Workers rate-limiting binding
 * (`EDGE_UPGRADES`, `EDGE_AUTH_FAILURES`, `EDGE_DEV_TOKENS` in wrangler.toml). A Worker built
 * without a binding (the benchmark's) has no such limit. A refusal is 429 `rate_limited` with
 * `Retry-After`: the bindings' period (`EDGE_LIMIT_PERIOD_S`, default 60).
 */
import type { Context, MiddlewareHandler } from "hono";
import { logEvent } from "../objects/log-event";
import { tokenOf } from "./auth";
import { type AppEnv, errorResponse } from "./http";

type LimitName = "EDGE_UPGRADES" | "EDGE_AUTH_FAILURES" | "EDGE_DEV_TOKENS";

const LOCAL_ADDRESS = "local";
const DEFAULT_PERIOD_S = 60;
/** Addresses refused for failed tokens that one isolate remembers at most. */
const MAX_BLOCKED = 10_000;

/** The client's address as Cloudflare saw it; one fixed key where there is none (local runs). */
export function clientAddress(req: Request): string {
  return req.headers.get("cf-connecting-ip") || LOCAL_ADDRESS;
}

function periodSeconds(env: Env): number {
  const n = Number(env.EDGE_LIMIT_PERIOD_S);
  return n === 10 || n === 60 ? n : DEFAULT_PERIOD_S;
}

/** Counts one event for `key`; true when it is over the binding's limit. */
async function overLimit(env: Env, name: LimitName, key: string): Promise<boolean> {
  const limiter: RateLimit | undefined = env[name];
  if (!limiter) return false;
  const { success } = await limiter.limit({ key });
  return !success;
}

export function rateLimited(c: Context<AppEnv>, message: string): Response {
  logEvent("warn", "rate_limited", { source: "Worker", requestId: c.get("requestId"), reason: message });
  c.header("Retry-After", String(periodSeconds(c.env)));
  return errorResponse(c, "rate_limited", message);
}

/** Dev tokens issued to one address: true when this one is over the limit. */
export function devTokenOverLimit(c: Context<AppEnv>): Promise<boolean> {
  return overLimit(c.env, "EDGE_DEV_TOKENS", clientAddress(c.req.raw));
}

/** Every request to `/v1/connect` counts, refused origins and bad tokens included. */
export const upgradeLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (await overLimit(c.env, "EDGE_UPGRADES", clientAddress(c.req.raw))) {
    return rateLimited(c, "too many connection attempts from this address; try again later");
  }
  await next();
};

/** Address → when its refusal ends, in this isolate. */
const blocked = new Map<string, number>();

function isBlocked(address: string, now: number): boolean {
  const until = blocked.get(address);
  if (until === undefined) return false;
  if (until > now) return true;
  blocked.delete(address);
  return false;
}

function block(address: string, until: number): void {
  if (blocked.size >= MAX_BLOCKED) {
    const oldest = blocked.keys().next().value;
    if (oldest !== undefined) blocked.delete(oldest);
  }
  blocked.set(address, until);
}

/**
 * Runs around authentication. Only a presented token that fails verification counts (not a
 * missing one, nor a 401 of a route after the token was accepted).
 * Once an address is over the limit it is refused for the period even with a good token:
 * otherwise the limit would slow a guesser's failures but still let a lucky guess through.
 * The binding has no way to look without counting, so the refusal is remembered per isolate;
 * another isolate refuses the address at its first failure from it.
 */
export const authFailureLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const address = clientAddress(c.req.raw);
  const message = "too many failed token checks from this address; try again later";
  if (isBlocked(address, Date.now())) return rateLimited(c, message);
  await next();
  // A 401 after authentication let the token in (a route wanting a recent sign-in) is no failure.
  if (c.res.status !== 401 || c.get("userId") || !tokenOf(c.req.raw)) return;
  if (await overLimit(c.env, "EDGE_AUTH_FAILURES", address)) {
    block(address, Date.now() + periodSeconds(c.env) * 1000);
    c.res = rateLimited(c, message);
  }
};
