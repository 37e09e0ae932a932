/**
 * The one place that turns ids into Durable Object stubs, and the WebSocket upgrade the Worker
 * forwards to a user's object (the headers it adds after authentication, and reading them back).
 */
import { deviceIdSchema, jurisdictionOf } from "../protocol";
import { placedId } from "./placement";

/** The chat object of `chatId`: it sequences, stores and fans out that chat's messages; placed in the jurisdiction its id names. */
export function chatStub(env: Env, chatId: string) {
  return env.CHAT.get(placedId(env.CHAT, jurisdictionOf(chatId), chatId, env.DEV_AUTH === "true"));
}

/** The user object of `userId`: its device sockets, inbox and presence. */
export function userStub(env: Env, userId: string) {
  return env.USER.get(env.USER.idFromName(userId));
}

/** Relay `shard` of `chatId`'s fan-out (see `relay/relay-object.ts`); it holds member lists, so it is placed with the chat. */
export function relayStub(env: Env, chatId: string, shard: number) {
  const name = `${chatId}/relay/${shard}`;
  return env.RELAY.get(placedId(env.RELAY, jurisdictionOf(chatId), name, env.DEV_AUTH === "true"));
}

const USER_HEADER = "X-Chat-User";
const DEVICE_HEADER = "X-Chat-Device";
const REQUEST_HEADER = "X-Chat-Request";

/** Forwards an authenticated upgrade to the user's object, naming user and device. */
export function forwardUpgrade(
  env: Env,
  request: Request,
  userId: string,
  deviceId: string,
  requestId: string,
): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.set(USER_HEADER, userId);
  headers.set(DEVICE_HEADER, deviceId);
  headers.set(REQUEST_HEADER, requestId);
  return userStub(env, userId).fetch(new Request(request.url, { method: "GET", headers }));
}

/** The request id of a forwarded upgrade, for the socket's log lines. */
export function upgradeRequestId(request: Request): string | undefined {
  return request.headers.get(REQUEST_HEADER) ?? undefined;
}

/** Who a forwarded upgrade is for; null when it is not one. */
export function upgradeIdentity(request: Request): { userId: string; deviceId: string } | null {
  const userId = request.headers.get(USER_HEADER);
  const deviceId = deviceIdSchema.safeParse(request.headers.get(DEVICE_HEADER));
  if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !userId || !deviceId.success) return null;
  return { userId, deviceId: deviceId.data };
}
