/**
 * CORS for the HTTP API and health routes: exactly the origins of `ALLOWED_ORIGINS` may call
 * them from a page; unset, no cross-origin page may (no `Access-Control-Allow-Origin` at all),
 * unlike the WebSocket origin guard, for which unset allows every origin. Preflights are
 * answered 204 here, before authentication (a preflight carries no token). WebSocket upgrades
 * pass untouched: CORS does not apply to them (see `origin.ts`).
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { settingsOf } from "../objects/settings";
import type { AppEnv } from "./http";

const PREFLIGHT_CACHE_S = 600;

const corsHandler = cors({
  origin: (origin, c) => (settingsOf(c.env).allowedOrigins?.has(origin) ? origin : null),
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
  allowHeaders: ["Authorization", "Content-Type"],
  // Retry-After, so that a page can honour a 429; X-Request-Id, to quote in a bug report.
  exposeHeaders: ["X-Request-Id", "Retry-After"],
  maxAge: PREFLIGHT_CACHE_S,
});

export const apiCors: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header("Upgrade")?.toLowerCase() === "websocket") return next();
  return corsHandler(c, next);
};
