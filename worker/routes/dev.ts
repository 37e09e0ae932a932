/**
 * `POST /v1/dev/token`: a token for any user name, only where `DEV_AUTH` is "true" (local dev,
 * tests), and no more than `EDGE_DEV_TOKENS` allows per address.
 */
import { Hono } from "hono";
import { devTokenBody } from "../../protocol";
import { issueToken } from "../auth";
import { devTokenOverLimit, rateLimited } from "../edge-limits";
import { type AppEnv, errorResponse, readJson } from "../http";

export const devRoutes = new Hono<AppEnv>().post("/token", async (c) => {
  if (c.env.DEV_AUTH !== "true") return errorResponse(c, "not_found", "no such route");
  if (!c.env.JWT_SECRET) return errorResponse(c, "internal", "JWT_SECRET is not configured");
  if (await devTokenOverLimit(c)) return rateLimited(c, "too many dev tokens from this address; try again later");
  const body = await readJson(c, devTokenBody);
  if (!body.ok) return body.response;
  return c.json({ token: await issueToken(body.data.userId, c.env.JWT_SECRET) });
});
