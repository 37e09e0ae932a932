/**
 * Block: the blocked user's sends into the direct chat with the blocker are refused and stored
 * nowhere; no typing either way, no receipts or presence from the blocker; groups are not
 * affected; unblock restores all of it.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { flushReceipts, recordPushes } from "./helpers/chat-internals";
import { api, connect, json, openDirect, storedSeqs, type TestSocket, unique } from "./helpers/client";
import { createGroup, users } from "./helpers/groups";

const chatStub = (chatId: string) => env.CHAT.get(env.CHAT.idFromName(chatId));

async function send(socket: TestSocket, chatId: string, body: string) {
  return socket.request({ type: "send", chatId, clientMsgId: unique("m"), body });
}

describe("block", () => {
  it("refuses the blocked user's sends, silences typing, receipts and presence; unblock restores", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    const before = await send(b, chatId, "hi alice");
    expect(before.type).toBe("ack");

    expect((await api(alice.token, "PUT", `/v1/users/${bob.id}/block`)).status).toBe(204);
    expect(await json(await api(alice.token, "GET", "/v1/blocks"))).toEqual({ userIds: [bob.id] });
    expect((await api(alice.token, "PUT", `/v1/users/${alice.id}/block`)).status).toBe(400);

    const stored = await storedSeqs(chatId);
    expect(await send(b, chatId, "are you there?")).toMatchObject({ type: "error", code: "forbidden" });
    const http = await api(bob.token, "POST", `/v1/chats/${chatId}/messages`, {
      clientMsgId: unique("h"),
      body: "hello?",
    });
    expect(http.status).toBe(403);
    expect(await storedSeqs(chatId)).toEqual(stored);

    // Typing either way and alice's receipts reach no one.
    const pushes = await recordPushes(chatStub(chatId));
    expect((await chatStub(chatId).typing(chatId, bob.id, true)).ok).toBe(true);
    expect((await chatStub(chatId).typing(chatId, alice.id, true)).ok).toBe(true);
    expect(
      (
        await chatStub(chatId).markReceipts(chatId, alice.id, {
          delivered: before.seq as number,
          read: before.seq as number,
        })
      ).ok,
    ).toBe(true);
    await flushReceipts(chatStub(chatId));
    expect(pushes).toEqual([]);
    const list = await json<{ chats: { chatId: string; receipts: unknown }[] }>(
      await api(bob.token, "GET", "/v1/chats"),
    );
    expect(list.chats.find((c) => c.chatId === chatId)?.receipts).toEqual({ delivered: 0, read: 0 });

    // Presence: the route and watch refuse, as for a stranger.
    expect((await api(bob.token, "GET", `/v1/users/${alice.id}/presence`)).status).toBe(403);
    expect(await b.request({ type: "watch", userIds: [alice.id] })).toMatchObject({ type: "error", code: "forbidden" });
    // The blocker still sees the blocked user's presence and may still write.
    expect((await api(alice.token, "GET", `/v1/users/${bob.id}/presence`)).status).toBe(200);
    expect((await send(a, chatId, "I can still write")).type).toBe("ack");

    // Groups are unaffected.
    const group = await createGroup(alice, "both", [bob.id]);
    expect((await send(b, group, "in the group")).type).toBe("ack");

    expect((await api(alice.token, "DELETE", `/v1/users/${bob.id}/block`)).status).toBe(204);
    expect(await json(await api(alice.token, "GET", "/v1/blocks"))).toEqual({ userIds: [] });
    expect((await send(b, chatId, "welcome back")).type).toBe("ack");
    expect((await api(bob.token, "GET", `/v1/users/${alice.id}/presence`)).status).toBe(200);
    for (const s of [a, b]) s.close();
  });
});
