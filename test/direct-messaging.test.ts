import { describe, expect, it } from "vitest";
import { directChatId } from "../protocol";
import { api, connect, history, json, openDirect, storedSeqs, user } from "./helpers/client";
import { chatStub, chatsOf } from "./helpers/groups";

/** Lets frames that should not come have their chance to arrive before we check they did not. */
const settle = () => new Promise((r) => setTimeout(r, 150));

describe("direct messaging", () => {
  it("acks a send with seq 1 and pushes it to the peer's devices and the sender's other device", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chat = await json<{ chatId: string }>(
      await api(alice.token, "POST", "/v1/chats", { type: "direct", with: bob.id }),
    );
    expect(chat.chatId).toBe(directChatId(alice.id, bob.id));

    const a1 = await connect(alice.token, "phone");
    const a2 = await connect(alice.token, "laptop");
    const b1 = await connect(bob.token, "phone");
    const b2 = await connect(bob.token, "tablet");

    const ack = await a1.socket.request({ type: "send", chatId: chat.chatId, clientMsgId: "m1", body: "hi bob" });
    expect(ack).toMatchObject({ type: "ack", chatId: chat.chatId, clientMsgId: "m1", seq: 1 });
    expect(typeof ack.ts).toBe("number");

    for (const s of [a2, b1, b2]) {
      const m = await s.socket.next("message");
      expect(m).toEqual({
        type: "message",
        chatId: chat.chatId,
        seq: 1,
        sender: alice.id,
        clientMsgId: "m1",
        body: "hi bob",
        ts: ack.ts,
        kind: "text",
      });
    }
    await settle();
    expect(a1.socket.all("message")).toHaveLength(0);
    for (const s of [a2, b1, b2]) expect(s.socket.all("message")).toHaveLength(1);

    const page = await history(bob.token, chat.chatId);
    expect(page.messages).toHaveLength(1);
    for (const s of [a1, a2, b1, b2]) s.socket.close();
  });

  it("a user's own sends reach its inbox: a device connecting later is told of them", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a1 = await connect(alice.token, "phone");
    for (const id of ["m1", "m2", "m3"]) {
      await a1.socket.request({ type: "send", chatId, clientMsgId: id, body: id });
    }
    const a2 = await connect(alice.token, "laptop");
    expect(a2.ready.chats).toEqual([{ chatId, lastSeq: 3, readSeq: 0 }]);
    expect(await chatsOf(alice.id)).toMatchObject([{ chatId, lastSeq: 3 }]);
    a1.socket.close();
    a2.socket.close();
  });

  it("a resend after a lost ack brings the message to the sender's other devices", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a1 = await connect(alice.token, "phone");
    const a2 = await connect(alice.token, "laptop");
    // Stored by the chat, but the ack never reached alice's object (as if it had restarted):
    // the chat leaves a socket send's copy for the sender to its object, so nothing came.
    const stored = await chatStub(chatId).send(chatId, alice.id, [
      { clientMsgId: "lost", body: "hi", deviceId: "phone" },
    ]);
    expect(stored).toMatchObject({ ok: true, value: [{ seq: 1, duplicate: false }] });
    await settle();
    expect(a2.socket.all("message")).toHaveLength(0);

    const again = await a1.socket.request({ type: "send", chatId, clientMsgId: "lost", body: "hi" });
    expect(again).toMatchObject({ type: "ack", seq: 1 });
    expect(await a2.socket.next("message")).toMatchObject({ seq: 1, sender: alice.id, body: "hi" });
    expect(await chatsOf(alice.id)).toMatchObject([{ chatId, lastSeq: 1 }]);
    a1.socket.close();
    a2.socket.close();
  });

  it("acks only once the message is stored in the chat object", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = await connect(alice.token, "phone");
    expect(await storedSeqs(chatId)).toEqual([]);

    const ack = await a.socket.request({ type: "send", chatId, clientMsgId: "c1", body: "stored?" });
    expect(ack.seq).toBe(1);
    // Read straight from the chat object's SQLite right after the ack, before anything else runs.
    expect(await storedSeqs(chatId)).toEqual([1]);
    const page = await history(alice.token, chatId);
    expect(page.messages.map((m) => [m.seq, m.body, m.sender])).toEqual([[1, "stored?", alice.id]]);

    const second = await a.socket.request({ type: "send", chatId, clientMsgId: "c2", body: "and again" });
    expect(second.seq).toBe(2);
    expect(await storedSeqs(chatId)).toEqual([1, 2]);
    a.socket.close();
  });

  it("an HTTP send reaches every connected device of both members", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(bob, alice);
    const sockets = [
      await connect(alice.token, "phone"),
      await connect(alice.token, "laptop"),
      await connect(bob.token, "phone"),
      await connect(bob.token, "tablet"),
    ];

    const res = await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, {
      clientMsgId: "h1",
      body: "over http",
    });
    expect(res.status).toBe(200);
    const ack = await json<{ seq: number; ts: number }>(res);
    expect(ack).toEqual({ seq: 1, ts: expect.any(Number) });
    expect(await storedSeqs(chatId)).toEqual([1]);

    for (const s of sockets) {
      const m = await s.socket.next("message");
      expect(m).toMatchObject({ chatId, seq: 1, sender: alice.id, clientMsgId: "h1", body: "over http", ts: ack.ts });
    }
    // The same clientMsgId again over HTTP answers the first seq and pushes nothing new.
    const again = await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, { clientMsgId: "h1", body: "dup" });
    expect(await json(again)).toEqual(ack);
    await settle();
    for (const s of sockets) expect(s.socket.all("message")).toHaveLength(1);
    expect(await storedSeqs(chatId)).toEqual([1]);
    for (const s of sockets) s.socket.close();
  });

  it("socket and HTTP sends share one seq sequence, and HTTP refuses bad bodies", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const b = await connect(bob.token, "phone");
    expect((await b.socket.request({ type: "send", chatId, clientMsgId: "s1", body: "ws" })).seq).toBe(1);
    const res = await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, { clientMsgId: "s1", body: "http" });
    expect((await json<{ seq: number }>(res)).seq).toBe(2); // clientMsgId is per sender
    for (const bad of [
      "not json",
      {},
      { clientMsgId: "", body: "x" },
      { clientMsgId: "x".repeat(65), body: "x" },
      { clientMsgId: "ok", body: 5 },
      { clientMsgId: "ok", body: "x", extra: true },
    ]) {
      const r = await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect((await json<{ error: { code: string } }>(r)).error.code).toBe("bad_request");
    }
    const big = await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, {
      clientMsgId: "big",
      body: "x".repeat(65_537),
    });
    expect(big.status).toBe(413);
    expect((await json<{ error: { code: string } }>(big)).error.code).toBe("too_large");
    expect(await storedSeqs(chatId)).toEqual([1, 2]);
    b.socket.close();
  });

  it("a user may message themself: the chat's only member, every device but the sender gets it", async () => {
    const alice = await user("alice");
    const chatId = await openDirect(alice, alice);
    expect(chatId).toBe(`d~${alice.id}~${alice.id}`);
    const a1 = await connect(alice.token, "phone");
    const a2 = await connect(alice.token, "laptop");
    const ack = await a1.socket.request({ type: "send", chatId, clientMsgId: "note", body: "to self" });
    expect(ack.seq).toBe(1);
    expect(await a2.socket.next("message")).toMatchObject({ seq: 1, body: "to self" });
    await settle();
    expect(a1.socket.all("message")).toHaveLength(0);
    for (const s of [a1, a2]) s.socket.close();
  });

  it("POST /v1/chats direct answers the same id for both users, every time", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const ids = [
      await openDirect(alice, bob),
      await openDirect(bob, alice),
      await openDirect(alice, bob),
      await openDirect(bob, alice),
    ];
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toBe(directChatId(alice.id, bob.id));
    expect(ids[0]).toBe(directChatId(bob.id, alice.id));

    const view = await json<{ chatId: string; type: string; members: { userId: string; role: string }[] }>(
      await api(bob.token, "GET", `/v1/chats/${ids[0]}`),
    );
    expect(view.chatId).toBe(ids[0]);
    expect(view.type).toBe("direct");
    expect(view.members.map((m) => m.userId).sort()).toEqual([alice.id, bob.id].sort());

    // Opening the chat puts it in both users' lists, before any message.
    for (const u of [alice, bob]) {
      const list = await json<{ chats: { chatId: string; type: string; lastSeq: number }[] }>(
        await api(u.token, "GET", "/v1/chats"),
      );
      expect(list.chats).toEqual([expect.objectContaining({ chatId: ids[0], type: "direct", lastSeq: 0 })]);
    }

    for (const bad of [{ type: "direct" }, { type: "direct", with: "no spaces" }, { type: "nope", with: bob.id }]) {
      const r = await api(alice.token, "POST", "/v1/chats", bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
  });
});
