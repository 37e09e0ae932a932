/**
 * `GET /v1/connect?device=`: the WebSocket upgrade, forwarded to the user's object, which
 * accepts it with the hibernation API (a socket accepted here could not hibernate).
 */
import { Hono } from "hono";
import { DEVICE_HEADER, USER_HEADER } from "../../objects/user/user-object";
import { deviceIdSchema } from "../../protocol";
import { type AppEnv, errorResponse } from "../http";

export const connectRoutes = new Hono<AppEnv>().get("/", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(c, "bad_request", "expected a WebSocket upgrade (Upgrade: websocket)");
  }
  const device = deviceIdSchema.safeParse(c.req.query("device"));
  if (!device.success) return errorResponse(c, "bad_request", "device: 1 to 64 characters of [A-Za-z0-9_.-]");
  const userId = c.get("userId");
  const headers = new Headers(c.req.raw.headers);
  headers.set(USER_HEADER, userId);
  headers.set(DEVICE_HEADER, device.data);
  const forwarded = new Request(c.req.url, { method: "GET", headers });
  return c.env.USER.get(c.env.USER.idFromName(userId)).fetch(forwarded);
});
