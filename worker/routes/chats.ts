/** The chat routes of the contract: create, list, describe, members, history, send and message info. */
import { Hono } from "hono";
import { chatStub, userStub } from "../../objects/stubs";
import {
  addMemberBody,
  chatIdSchema,
  createChatBody,
  directChatId,
  historyQuery,
  isJurisdiction,
  newGroupChatId,
  RATE_LIMITED_MESSAGE,
  sendMessageBody,
  setRoleBody,
  userIdSchema,
} from "../../protocol";
import { type AppContext, type AppEnv, errorResponse, outcomeResponse, readJson } from "../http";

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
      return outcomeResponse(c, await chatStub(c.env, chatId).openDirect(chatId, me));
    }
    const jurisdiction = body.data.jurisdiction ?? (c.env.DATA_JURISDICTION || undefined);
    // A misconfigured default fails closed: no group is created outside the place it was meant for.
    if (jurisdiction !== undefined && !isJurisdiction(jurisdiction)) {
      return errorResponse(c, "internal", `DATA_JURISDICTION '${jurisdiction}' is not a jurisdiction offered`);
    }
    const chatId = newGroupChatId(jurisdiction);
    const { title, members, history } = body.data;
    return outcomeResponse(c, await chatStub(c.env, chatId).createGroup(chatId, me, title, members, history), 201);
  })
  .get("/", async (c) => {
    const me = c.get("userId");
    const chats = await userStub(c.env, me).listChats(me);
    return c.json({ chats });
  })
  .get("/:chatId", async (c) => {
    const chatId = chatIdParam(c);
    if (!chatId) return errorResponse(c, "not_found", NO_SUCH_CHAT);
    return outcomeResponse(c, await chatStub(c.env, chatId).describe(chatId, c.get("userId")));
  })
  .get("/:chatId/messages", async (c) => {
    const chatId = chatIdParam(c);
    if (!chatId) return errorResponse(c, "not_found", NO_SUCH_CHAT);
    const query = historyQuery.safeParse(c.req.query());
    if (!query.success) return errorResponse(c, "bad_request", query.error.issues[0]?.message ?? "bad query");
    return outcomeResponse(c, await chatStub(c.env, chatId).history(chatId, c.get("userId"), query.data));
  })
  .post("/:chatId/messages", async (c) => {
    const chatId = chatIdParam(c);
    if (!chatId) return errorResponse(c, "not_found", NO_SUCH_CHAT);
    const body = await readJson(c, sendMessageBody);
    if (!body.ok) return body.response;
    // HTTP sends skip the user object on their way to the chat, so they take their rate token there first.
    const me = c.get("userId");
    if (!(await userStub(c.env, me).allowSend())) {
      return errorResponse(c, "rate_limited", RATE_LIMITED_MESSAGE);
    }
    const result = await chatStub(c.env, chatId).send(chatId, c.get("userId"), [body.data]);
    if (!result.ok) return errorResponse(c, result.code, result.message);
    const ack = result.value[0];
    if (!ack) return errorResponse(c, "internal", "no ack");
    if (!ack.ok) return errorResponse(c, ack.code, ack.message);
    return c.json({ seq: ack.value.seq, ts: ack.value.ts });
  })
  .get("/:chatId/messages/:seq/receipts", async (c) => {
    const chatId = chatIdParam(c);
    if (!chatId) return errorResponse(c, "not_found", NO_SUCH_CHAT);
    // Digits only, as in history queries: `Number` alone would take "1e3", "0x10" or " 5".
    const raw = c.req.param("seq");
    const seq = /^\d{1,15}$/.test(raw) ? Number(raw) : 0;
    if (seq < 1) return errorResponse(c, "bad_request", "seq must be a positive whole number");
    return outcomeResponse(c, await chatStub(c.env, chatId).messageReceipts(chatId, c.get("userId"), seq));
  })
  .post("/:chatId/members", async (c) => {
    const chatId = chatIdParam(c);
    if (!chatId) return errorResponse(c, "not_found", NO_SUCH_CHAT);
    const body = await readJson(c, addMemberBody);
    if (!body.ok) return body.response;
    const { userId, role } = body.data;
    return outcomeResponse(c, await chatStub(c.env, chatId).addMember(chatId, c.get("userId"), userId, role), 201);
  })
  .patch("/:chatId/members/:userId", async (c) => {
    const chatId = chatIdParam(c);
    const userId = userIdSchema.safeParse(c.req.param("userId"));
    if (!chatId || !userId.success) return errorResponse(c, "not_found", NO_SUCH_CHAT);
    const body = await readJson(c, setRoleBody);
    if (!body.ok) return body.response;
    return outcomeResponse(
      c,
      await chatStub(c.env, chatId).setRole(chatId, c.get("userId"), userId.data, body.data.role),
    );
  })
  .delete("/:chatId/members/:userId", async (c) => {
    const chatId = chatIdParam(c);
    const userId = userIdSchema.safeParse(c.req.param("userId"));
    if (!chatId || !userId.success) return errorResponse(c, "not_found", NO_SUCH_CHAT);
    return outcomeResponse(c, await chatStub(c.env, chatId).removeMember(chatId, c.get("userId"), userId.data));
  });
