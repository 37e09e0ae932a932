/** The chat routes of the contract: create, list, describe, history and send over HTTP. */
import { Hono } from "hono";
import { chatIdSchema, createChatBody, directChatId, historyQuery, sendMessageBody } from "../../protocol";
import { type AppContext, type AppEnv, errorResponse, outcomeResponse, readJson } from "../http";

function chatStub(c: AppContext, chatId: string) {
  return c.env.CHAT.get(c.env.CHAT.idFromName(chatId));
}

/** The `:chatId` parameter, or null when it cannot name a chat (the answer is then 404). */
function chatIdParam(c: AppContext): string | null {
  const parsed = chatIdSchema.safeParse(c.req.param("chatId"));
  return parsed.success ? parsed.data : null;
}

const NO_SUCH_CHAT = "no such chat";

export const chatRoutes = new Hono<AppEnv>()
  .post("/", async (c) => {
    const body = await readJson(c, createChatBody);
    if (!body.ok) return body.response;
    const me = c.get("userId");
    if (body.data.type === "direct") {
      const chatId = directChatId(me, body.data.with);
      return outcomeResponse(c, await chatStub(c, chatId).openDirect(chatId, me));
    }
    return errorResponse(c, "bad_request", "group chats are not available yet");
  })
  .get("/", async (c) => {
    const me = c.get("userId");
    const chats = await c.env.USER.get(c.env.USER.idFromName(me)).listChats();
    return c.json({ chats });
  })
  .get("/:chatId", async (c) => {
    const chatId = chatIdParam(c);
    if (!chatId) return errorResponse(c, "not_found", NO_SUCH_CHAT);
    return outcomeResponse(c, await chatStub(c, chatId).describe(chatId, c.get("userId")));
  })
  .get("/:chatId/messages", async (c) => {
    const chatId = chatIdParam(c);
    if (!chatId) return errorResponse(c, "not_found", NO_SUCH_CHAT);
    const query = historyQuery.safeParse(c.req.query());
    if (!query.success) return errorResponse(c, "bad_request", query.error.issues[0]?.message ?? "bad query");
    return outcomeResponse(c, await chatStub(c, chatId).history(chatId, c.get("userId"), query.data));
  })
  .post("/:chatId/messages", async (c) => {
    const chatId = chatIdParam(c);
    if (!chatId) return errorResponse(c, "not_found", NO_SUCH_CHAT);
    const body = await readJson(c, sendMessageBody);
    if (!body.ok) return body.response;
    const result = await chatStub(c, chatId).send(chatId, c.get("userId"), [body.data]);
    if (!result.ok) return errorResponse(c, result.code, result.message);
    const ack = result.value[0];
    if (!ack) return errorResponse(c, "internal", "no ack");
    return c.json({ seq: ack.seq, ts: ack.ts });
  });
