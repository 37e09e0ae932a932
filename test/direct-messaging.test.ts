/**
 * Direct chats end to end: acks, pushes to every device, resends, the ack only after the
 * commit (with faults injected into the chat's SQLite), and HTTP sends.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { directChatId } from "../protocol";
import { messageBarrier, pingBarrier } from "./helpers/barrier";
import {
  api,
  connect,
  type Frame,
  history,
  json,
  openDirect,
  storedSeqs,
  type TestSocket,
  user,
} from "./helpers/client";
import { chatStub, chatsOf, fanoutSettled } from "./helpers/groups";

/** The seqs of the message frames `socket` has been pushed so far. */
const pushedSeqs = (socket: TestSocket) => socket.all("message").map((f) => f.seq);

/**
 * Makes the chat's SQLite abort every insert into `messages` for which `when` holds (an SQL
 * condition on `NEW`), as a failing disk would; answers the undo.
 */
async function failInserts(chatId: string, when = "1"): Promise<() => Promise<void>> {
  await runInDurableObject(chatStub(chatId), (_chat, state) => {
    state.storage.sql.exec(
      `CREATE TRIGGER injected_fault BEFORE INSERT ON messages WHEN ${when} BEGIN SELECT RAISE(ABORT, 'injected'); END`,
    );
  });
  return () =>
    runInDurableObject(chatStub(chatId), (_chat, state) => {
      state.storage.sql.exec("DROP TRIGGER injected_fault");
    });
}

/** The rows of the chat's message log, read inside the object. */
function storedRows(chatId: string): Promise<{ seq: number; sender: string; clientMsgId: string; ts: number }[]> {
  return runInDurableObject(chatStub(chatId), (_chat, state) =>
    state.storage.sql
      .exec<{ seq: number; sender: string; clientMsgId: string; ts: number }>(
        "SELECT seq, sender, client_msg_id AS clientMsgId, ts FROM messages ORDER BY seq",
      )
      .toArray(),
  );
}

const tick = () => new Promise((r) => setTimeout(r, 5));

/**
 * Holds every call into the chat object until the answer is called, so that sends pile up in
 * the sender's queue and go to the chat as one batch. Both sides poll a shared flag: a promise
 * resolved from the other side's context would not wake its waiter.
 */
async function holdChat(chatId: string): Promise<() => Promise<void>> {
  const hold = { held: false, on: true };
  const done = runInDurableObject(chatStub(chatId), (_chat, state) =>
    state.blockConcurrencyWhile(async () => {
      hold.held = true;
      while (hold.on) await tick();
    }),
  );
  while (!hold.held) await tick();
  return async () => {
    hold.on = false;
    await done;
  };
}

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
    // Alice's object pushes this chat's messages in seq order: a copy of seq 1 would precede 2.
    await messageBarrier(chat.chatId, a2.socket, [a1.socket, b1.socket, b2.socket]);
    await pingBarrier(a2.socket);
    expect(pushedSeqs(a1.socket)).toEqual([2]);
    expect(pushedSeqs(a2.socket)).toEqual([1]);
    for (const s of [b1, b2]) expect(pushedSeqs(s.socket)).toEqual([1, 2]);

    const page = await history(bob.token, chat.chatId);
    expect(page.messages.map((m) => [m.seq, m.clientMsgId])).toEqual([
      [1, "m1"],
      [2, expect.stringMatching(/^barrier-/)],
    ]);
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
    expect(a2.ready.chats).toEqual([
      { chatId, lastSeq: 3, readSeq: 0, unread: 0, receipts: { delivered: 0, read: 0 } },
    ]);
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
    expect(stored).toMatchObject({ ok: true, value: [{ ok: true, value: { seq: 1, duplicate: false } }] });
    // A wrong copy to alice's object would have been pushed before its delivery call returned.
    await fanoutSettled(chatId);
    await pingBarrier(a2.socket);
    expect(a2.socket.all("message")).toHaveLength(0);

    const again = await a1.socket.request({ type: "send", chatId, clientMsgId: "lost", body: "hi" });
    expect(again).toMatchObject({ type: "ack", seq: 1 });
    expect(await a2.socket.next("message")).toMatchObject({ seq: 1, sender: alice.id, body: "hi" });
    expect(await chatsOf(alice.id)).toMatchObject([{ chatId, lastSeq: 1 }]);
    a1.socket.close();
    a2.socket.close();
  });

  // Why a crash cannot fall between the ack and the commit: the chat builds each ack from what
  // its synchronous transaction (`transactionSync`) stored and answers only once it has
  // returned, and the output gate holds that answer until the write is durable. Nothing is sent
  // before, so a crash before the commit loses the ack too; the client resends. The tests below
  // make the commit fail inside the chat's SQLite and check that no ack goes out.
  it("acks only after the commit: a send whose commit fails is answered internal, stores nothing, uses no seq", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = await connect(alice.token, "phone");

    const heal = await failInserts(chatId);
    const failed = await a.socket.request({ type: "send", chatId, clientMsgId: "c1", body: "stored?" });
    expect(failed).toMatchObject({ type: "error", code: "internal" });
    expect(await storedSeqs(chatId)).toEqual([]);

    await heal();
    const ack = await a.socket.request({ type: "send", chatId, clientMsgId: "c1", body: "stored?" });
    expect(ack).toMatchObject({ type: "ack", chatId, clientMsgId: "c1", seq: 1 });
    expect(await storedRows(chatId)).toEqual([{ seq: 1, sender: alice.id, clientMsgId: "c1", ts: ack.ts }]);
    // The failed send got no ack, early or late: the resend's is the only one on the socket.
    expect(a.socket.all("ack")).toEqual([ack]);
    a.socket.close();
  });

  it("a batch whose second item fails to store is rolled back whole: no item of it is acked", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = await connect(alice.token, "phone");
    const heal = await failInserts(chatId, "NEW.client_msg_id = 'b2'");

    // b0 goes alone and waits at the held chat; b1..b3 queue behind it and go as one batch.
    const release = await holdChat(chatId);
    const ids = ["b0", "b1", "b2", "b3"];
    const replies = ids.map((clientMsgId) => a.socket.next((f) => f.id === `send-${clientMsgId}`));
    for (const clientMsgId of ids)
      a.socket.send({ type: "send", id: `send-${clientMsgId}`, chatId, clientMsgId, body: clientMsgId });
    // Answered once alice's object has taken every earlier frame, so all four sends are queued.
    await pingBarrier(a.socket);
    await release();
    const [b0, ...batch] = (await Promise.all(replies)) as [Frame, ...Frame[]];
    expect(b0).toMatchObject({ type: "ack", clientMsgId: "b0", seq: 1 });
    for (const reply of batch) expect(reply).toMatchObject({ type: "error", code: "internal" });
    expect(await storedRows(chatId)).toEqual([{ seq: 1, sender: alice.id, clientMsgId: "b0", ts: b0.ts }]);

    await heal();
    const acks: Frame[] = [b0];
    for (const clientMsgId of ["b1", "b2", "b3"]) {
      acks.push(await a.socket.request({ type: "send", chatId, clientMsgId, body: clientMsgId }));
    }
    expect(acks.map((f) => [f.type, f.seq])).toEqual([
      ["ack", 1],
      ["ack", 2],
      ["ack", 3],
      ["ack", 4],
    ]);
    // Each ack is the committed row: its seq, its clientMsgId and its ts.
    expect(await storedRows(chatId)).toEqual(
      acks.map((f) => ({ seq: f.seq, sender: alice.id, clientMsgId: f.clientMsgId, ts: f.ts })),
    );
    expect(a.socket.all("ack")).toEqual(acks);
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
    // Each user object pushes the chat's messages in seq order: a second push of seq 1 would
    // precede seq 2, and a new message made of the duplicate would take seq 2 itself.
    const [first, ...others] = sockets.map((s) => s.socket) as [TestSocket, ...TestSocket[]];
    expect(await messageBarrier(chatId, first, others)).toBe(2);
    await pingBarrier(first);
    expect(pushedSeqs(first)).toEqual([1]);
    for (const s of others) expect(pushedSeqs(s)).toEqual([1, 2]);
    expect(await storedSeqs(chatId)).toEqual([1, 2]);
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
    // A copy of seq 1 to the sending device would precede seq 2 there.
    await messageBarrier(chatId, a2.socket, [a1.socket]);
    await pingBarrier(a2.socket);
    expect(pushedSeqs(a1.socket)).toEqual([2]);
    expect(pushedSeqs(a2.socket)).toEqual([1]);
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
