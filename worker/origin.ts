/**
 * The origin allowlist for browser WebSocket upgrades (`ALLOWED_ORIGINS`, comma-separated exact
 * origins). A browser always sends `Origin` on an upgrade, so a page on another site cannot open a
 * socket with a token it got hold of. Requests without `Origin` (native apps, servers) pass, and
 * so does everything when the setting is unset. It runs before authentication and before any
 * object is touched.
 */
import type { MiddlewareHandler } from "hono";
import { settingsOf } from "../objects/settings";
import { type AppEnv, errorResponse } from "./http";

export const originGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
  const allowed = settingsOf(c.env).allowedOrigins;
  const origin = c.req.header("Origin");
  const upgrade = c.req.header("Upgrade")?.toLowerCase() === "websocket";
  // Exact string match: `https://app.example.com.evil.com` is not `https://app.example.com`.
  if (allowed && upgrade && origin !== undefined && !allowed.has(origin)) {
    return errorResponse(c, "forbidden", "this origin may not open a WebSocket here");
  }
  await next();
};
