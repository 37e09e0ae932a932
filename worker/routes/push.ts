/**
 * Web Push routes: the server's VAPID public key, a device's subscription, and muting a chat.
 * Subscriptions and mutes live in the caller's user object, which checks the endpoint and keys.
 */
import { Hono } from "hono";
import { loadVapidKey } from "../../objects/push/vapid";
import { userStub } from "../../objects/stubs";
import { chatIdSchema, deviceIdSchema, muteBody, pushSubscriptionBody } from "../../protocol";
import { type AppEnv, errorResponse, readJson } from "../http";

export const pushRoutes = new Hono<AppEnv>()
  .get("/push/key", async (c) => {
    const key = await loadVapidKey(c.env.VAPID_PRIVATE_KEY, c.env.VAPID_SUBJECT);
    if (!key) return errorResponse(c, "not_found", "push is not configured on this server");
    return c.json({ publicKey: key.publicKey });
  })
  .put("/devices/:deviceId/push", async (c) => {
    const deviceId = deviceIdSchema.safeParse(c.req.param("deviceId"));
    if (!deviceId.success) return errorResponse(c, "not_found", "no such device");
    const body = await readJson(c, pushSubscriptionBody);
    if (!body.ok) return body.response;
    const { endpoint, keys } = body.data;
    const me = c.get("userId");
    const result = await userStub(c.env, me).setPushSubscription(me, deviceId.data, { endpoint, ...keys });
    if (!result.ok) return errorResponse(c, result.code, result.message);
    return c.body(null, 204);
  })
  .delete("/devices/:deviceId/push", async (c) => {
    const deviceId = deviceIdSchema.safeParse(c.req.param("deviceId"));
    if (!deviceId.success) return errorResponse(c, "not_found", "no such device");
    await userStub(c.env, c.get("userId")).removePushSubscription(deviceId.data);
    return c.body(null, 204);
  })
  .put("/chats/:chatId/mute", async (c) => {
    const chatId = chatIdSchema.safeParse(c.req.param("chatId"));
    if (!chatId.success) return errorResponse(c, "not_found", "no such chat");
    const body = await readJson(c, muteBody);
    if (!body.ok) return body.response;
    await userStub(c.env, c.get("userId")).setMute(chatId.data, body.data.until);
    return c.body(null, 204);
  })
  .delete("/chats/:chatId/mute", async (c) => {
    const chatId = chatIdSchema.safeParse(c.req.param("chatId"));
    if (!chatId.success) return errorResponse(c, "not_found", "no such chat");
    await userStub(c.env, c.get("userId")).setMute(chatId.data, "unmute");
    return c.body(null, 204);
  });
