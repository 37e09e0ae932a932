/**
 * `GET /v1/connect?device=`: the WebSocket upgrade, forwarded to the user's object, which
 * accepts it with the hibernation API (a socket accepted here could not hibernate).
 */
import { Hono } from "hono";
import { forwardUpgrade } from "../../objects/stubs";
import { deviceIdSchema } from "../../protocol";
import { type AppEnv, errorResponse } from "../http";

export const connectRoutes = new Hono<AppEnv>().get("/", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(c, "bad_request", "expected a WebSocket upgrade (Upgrade: websocket)");
  }
  const device = deviceIdSchema.safeParse(c.req.query("device"));
  if (!device.success) return errorResponse(c, "bad_request", "device: 1 to 64 characters of [A-Za-z0-9_.-]");
  return forwardUpgrade(c.env, c.req.raw, c.get("userId"), device.data, c.get("requestId"));
});
