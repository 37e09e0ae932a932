/** `GET /v1/users/:userId/presence`: online and last seen, only for users who share a chat with the caller. */
import { Hono } from "hono";
import { userStub } from "../../objects/stubs";
import { userIdSchema } from "../../protocol";
import { type AppEnv, errorResponse, outcomeResponse } from "../http";

export const userRoutes = new Hono<AppEnv>().get("/:userId/presence", async (c) => {
  const target = userIdSchema.safeParse(c.req.param("userId"));
  if (!target.success) return errorResponse(c, "not_found", "no such user");
  const me = c.get("userId");
  const presence = await userStub(c.env, me).presenceOf(me, target.data);
  if (!presence.ok) return outcomeResponse(c, presence);
  const { userId, online, lastSeen } = presence.value;
  return c.json({ userId, online, lastSeen });
});
