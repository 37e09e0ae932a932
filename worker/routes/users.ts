/**
 * `GET /v1/users/:userId/presence` (online and last seen, only for users who share a chat with the
 * caller and have not blocked it), and blocking: `PUT`/`DELETE /v1/users/:userId/block`, `GET /v1/blocks`.
 */
import { Hono } from "hono";
import { userStub } from "../../objects/stubs";
import { userIdSchema } from "../../protocol";
import { type AppContext, type AppEnv, errorResponse, outcomeResponse } from "../http";

export const userRoutes = new Hono<AppEnv>()
  .get("/:userId/presence", async (c) => {
    const target = userIdSchema.safeParse(c.req.param("userId"));
    if (!target.success) return errorResponse(c, "not_found", "no such user");
    const me = c.get("userId");
    const presence = await userStub(c.env, me).presenceOf(me, target.data);
    if (!presence.ok) return outcomeResponse(c, presence);
    const { userId, online, lastSeen } = presence.value;
    return c.json({ userId, online, lastSeen });
  })
  .put("/:userId/block", (c) => block(c, true))
  .delete("/:userId/block", (c) => block(c, false));

async function block(c: AppContext, blocked: boolean): Promise<Response> {
  const target = userIdSchema.safeParse(c.req.param("userId"));
  if (!target.success) return errorResponse(c, "not_found", "no such user");
  const me = c.get("userId");
  const result = await userStub(c.env, me).setBlock(me, target.data, blocked);
  if (!result.ok) return errorResponse(c, result.code, result.message);
  return c.body(null, 204);
}

/** `GET /v1/blocks`: `{"userIds":[...]}`, the users the caller blocked. */
export const blockRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const me = c.get("userId");
  return c.json({ userIds: await userStub(c.env, me).blockedUsers() });
});
