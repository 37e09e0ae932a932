/**
 * The request id and the request's log line. The id is the `cf-ray` Cloudflare gave the request
 * (the ray id the dashboard shows), else a generated one; an `X-Request-Id` a client sends is not
 * taken, so no client chooses what its lines are filed under. Every response carries it as
 * `X-Request-Id`, and one `request` line is written when the response is ready.
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { logEvent } from "../objects/log-event";
import type { AppEnv } from "./http";

export const REQUEST_ID_HEADER = "X-Request-Id";

declare module "hono" {
  interface ContextVariableMap {
    requestId: string;
  }
}

/** The ray id of `cf-ray` (`8f1b2c3d4e5f6a7b-AMS`), when it is one. */
function rayIdOf(header: string | undefined): string | null {
  return header && /^[0-9a-f]{16}(-[A-Z]{3})?$/i.test(header) ? header : null;
}

/** The pattern of the route that answered; null when none matched (a 404). */
function routeOf(c: Context): string | null {
  // Middleware is registered for every method; the route handlers each for their own.
  return matchedRoutes(c).findLast((r) => r.method !== "ALL")?.path ?? null;
}

export const requestLog: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = Date.now();
  const requestId = rayIdOf(c.req.header("cf-ray")) ?? crypto.randomUUID();
  c.set("requestId", requestId);
  c.header(REQUEST_ID_HEADER, requestId);
  await next();
  if (c.res.headers.get(REQUEST_ID_HEADER) !== requestId) c.header(REQUEST_ID_HEADER, requestId);
  const status = c.res.status;
  logEvent(status >= 500 ? "error" : "info", "request", {
    source: "Worker",
    requestId,
    method: c.req.method,
    route: routeOf(c),
    status,
    durationMs: Date.now() - started,
    userId: c.get("userId"),
  });
};
