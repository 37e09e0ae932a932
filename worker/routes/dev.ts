/** `POST /v1/dev/token`: a token for any user name, only where `DEV_AUTH` is "true" (local dev, tests). */
import { Hono } from "hono";
import { devTokenBody } from "../../protocol";
import { issueToken } from "../auth";
import { type AppEnv, errorResponse, readJson } from "../http";

export const devRoutes = new Hono<AppEnv>().post("/token", async (c) => {
  if (c.env.DEV_AUTH !== "true") return errorResponse(c, "not_found", "no such route");
  if (!c.env.JWT_SECRET) return errorResponse(c, "internal", "JWT_SECRET is not configured");
  const body = await readJson(c, devTokenBody);
  if (!body.ok) return body.response;
  return c.json({ token: await issueToken(body.data.userId, c.env.JWT_SECRET) });
});
