/**
 * Leaving a group and being removed from it: what the member still gets (everything before the
 * removal, even after failed deliveries) and what it no longer gets; re-adding; the last admin.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { pingBarrier } from "./helpers/barrier";
import { failEveryNthDelivery, flushReceipts } from "./helpers/chat-internals";
import { api, connect, history, json, sendMany, storedSeqs, type TestSocket, unique } from "./helpers/client";
import {
  addMember,
  chatStub,
  chatsOf,
  createGroup,
  expectError,
  fanoutSettled,
  membersOf,
  messagesOf,
  pollUntil,
  removeMember,
  systemAt,
  type User,
  users,
} from "./helpers/groups";

/** Every chat route and chat frame, as someone outside the chat: all refused. */
async function expectLockedOut(outsider: User, socket: TestSocket, chatId: string, someone: string): Promise<void> {
  const routes: [string, string, unknown?][] = [
    ["GET", `/v1/chats/${chatId}`],
    ["GET", `/v1/chats/${chatId}/messages?after=0`],
    ["GET", `/v1/chats/${chatId}/messages?before=5`],
    ["POST", `/v1/chats/${chatId}/messages`, { clientMsgId: unique("x"), body: "let me in" }],
    ["GET", `/v1/chats/${chatId}/messages/1/receipts`],
    ["POST", `/v1/chats/${chatId}/members`, { userId: outsider.id }],
    ["PATCH", `/v1/chats/${chatId}/members/${someone}`, { role: "member" }],
    ["DELETE", `/v1/chats/${chatId}/members/${someone}`],
    ["DELETE", `/v1/chats/${chatId}/members/${outsider.id}`],
  ];
  for (const [method, path, body] of routes) {
    const res = await api(outsider.token, method, path, body);
    expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
    expect(await res.json()).toMatchObject({ error: { code: "forbidden" } });
  }
  const frames = [
    { type: "send", chatId, clientMsgId: unique("x"), body: "let me in" },
    { type: "history", chatId, after: 0 },
    { type: "received", chatId, seq: 99 },
    { type: "read", chatId, seq: 99 },
    { type: "typing", chatId, on: true },
  ];
  for (const frame of frames) expect(await socket.request(frame)).toMatchObject({ type: "error", code: "forbidden" });
  const list = await json<{ chats: { chatId: string }[] }>(await api(outsider.token, "GET", "/v1/chats"));
  expect(list.chats.map((c) => c.chatId)).not.toContain(chatId);
}

describe("removing and leaving", () => {
  it("a removed member gets the removal and nothing after it, and loses every route and frame of the chat", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const chatId = await createGroup(alice, "team", [bob.id, carol.id]);
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    const c = (await connect(carol.token, "phone")).socket;
    expect(await a.request({ type: "send", chatId, clientMsgId: "m1", body: "before" })).toMatchObject({ seq: 2 });
    expect(await b.next((f) => f.type === "message" && f.seq === 2)).toMatchObject({ body: "before" });

    const res = await removeMember(alice, chatId, bob.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ seq: 3 });
    const removal = await systemAt(alice, chatId, 3);
    expect(removal).toMatchObject({ kind: "system", sender: alice.id });
    expect(removal.event).toEqual({ event: "removed", actor: alice.id, userId: bob.id });
    expect(await b.next((f) => f.type === "message" && f.seq === 3)).toMatchObject({ kind: "system" });
    expect(await c.next((f) => f.type === "message" && f.seq === 3)).toMatchObject({ kind: "system" });

    expect(await a.request({ type: "send", chatId, clientMsgId: "m2", body: "after" })).toMatchObject({ seq: 4 });
    expect(await c.next((f) => f.type === "message" && f.seq === 4)).toMatchObject({ body: "after" });
    expect(await fanoutSettled(chatId)).toEqual([]);
    expect((await membersOf(alice.token, chatId)).map((m) => m.userId)).not.toContain(bob.id);
    await expectLockedOut(bob, b, chatId, carol.id);
    // Typing by a current member reaches the others, never the removed member.
    c.send({ type: "typing", chatId, on: true });
    expect(await a.next("typing")).toMatchObject({ chatId, userId: carol.id });
    expect(b.frames.filter((f) => f.chatId === chatId && (f.seq as number) > 3)).toEqual([]);
    expect(b.frames.filter((f) => f.type === "typing")).toEqual([]);

    const again = await connect(bob.token, "tablet");
    expect(again.ready.chats).toEqual([]);
    for (const s of [a, b, c, again.socket]) s.close();
  });

  it("sends racing a removal: the member gets every message before it, in order, and none after", async () => {
    const [alice, bob] = await users("alice", "bob");
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    const chatId = await createGroup(alice, "team", [bob.id]);
    // The removal is asked for while sends are still arriving; more follow its answer.
    const early = sendMany(a, chatId, 60, "early");
    await a.next("ack");
    const removed = await json<{ seq: number }>(await removeMember(alice, chatId, bob.id));
    const late = await sendMany(a, chatId, 20, "late");
    // Sends that race the removal land on either side of it; those sent after its answer, after it.
    const earlySeqs = (await early).map((f) => f.seq as number);
    expect(new Set(earlySeqs).size).toBe(60);
    expect(earlySeqs).not.toContain(removed.seq);
    expect(late.every((f) => (f.seq as number) > removed.seq)).toBe(true);
    expect(await fanoutSettled(chatId)).toEqual([]);
    await b.collect("message", removed.seq);
    // Every delivery call has returned (fan-out settled), so a ping answered after them comes last.
    await pingBarrier(b);
    expect(b.all("message").map((f) => f.seq)).toEqual(Array.from({ length: removed.seq }, (_, i) => i + 1));
    a.close();
    b.close();
  });

  it("a member whose delivery failed still gets what was sent before its removal, and nothing after", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const chatId = await createGroup(alice, "team", [bob.id, carol.id]);
    const b = (await connect(bob.token, "phone")).socket;
    const chat = chatStub(chatId);
    // alice and carol have no device connected, so the chat parked them: m1's one delivery is bob's, and it fails.
    const faults = await failEveryNthDelivery(chat, 1);
    await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, { clientMsgId: "m1", body: "before" });
    expect(await fanoutSettled(chatId)).toEqual([bob.id]);
    await faults.restore();

    expect(await (await removeMember(alice, chatId, bob.id)).json()).toEqual({ seq: 3 });
    await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, { clientMsgId: "m2", body: "after" });
    expect(await fanoutSettled(chatId)).toEqual([]);
    // The chat's retries settle; none of them reaches bob.
    let alarms = 0;
    while (alarms < 5 && (await runDurableObjectAlarm(chat))) alarms++;
    expect(await runDurableObjectAlarm(chat)).toBe(false);
    await b.collect("message", 2);
    await pingBarrier(b);
    expect(b.all("message").map((f) => f.seq)).toEqual([2, 3]);
    expect(await chatsOf(bob.id)).toEqual([]);
    b.close();
  });

  it("a farewell that fails is retried by the chat's alarm, so the chat leaves the removed member's list", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await createGroup(alice, "team", [bob.id]);
    const b = (await connect(bob.token, "phone")).socket;
    expect(await fanoutSettled(chatId)).toEqual([]);
    expect((await chatsOf(bob.id)).map((c) => c.chatId)).toEqual([chatId]);
    const chat = chatStub(chatId);
    // Every delivery call fails, the farewell to bob among them.
    const faults = await failEveryNthDelivery(chat, 1);
    const removed = await json<{ seq: number }>(await removeMember(alice, chatId, bob.id));
    // The farewell was tried and failed: bob's object still lists the chat.
    await pollUntil(async () => faults.failed.includes(bob.id), Boolean);
    expect((await chatsOf(bob.id)).map((c) => c.chatId)).toEqual([chatId]);

    await faults.restore();
    let alarms = 0;
    while (alarms < 5 && (await runDurableObjectAlarm(chat))) alarms++;
    expect(await chatsOf(bob.id)).toEqual([]);
    expect(await b.next((f) => f.type === "message" && f.seq === removed.seq)).toMatchObject({ kind: "system" });
    b.close();
  });

  it("removing the only member who lacked a message moves the sender's group tick", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const chatId = await createGroup(alice, "team", [bob.id, carol.id]);
    const a = (await connect(alice.token, "phone")).socket;
    expect(await a.request({ type: "send", chatId, clientMsgId: "m1", body: "hi" })).toMatchObject({ seq: 2 });
    expect((await chatStub(chatId).markReceipts(chatId, carol.id, { delivered: 2, read: 2 })).ok).toBe(true);
    // Whatever the chat owes alice now is pushed, then answered pings on her socket come after it.
    await flushReceipts(chatStub(chatId));
    await pingBarrier(a);
    expect(a.all("receipt")).toEqual([]);

    expect((await removeMember(alice, chatId, bob.id)).status).toBe(200);
    expect(await a.next("receipt")).toEqual({ type: "receipt", chatId, seq: 2, status: "delivered" });
    expect(await a.next("receipt")).toEqual({ type: "receipt", chatId, seq: 2, status: "read" });
    a.close();
  });

  it("refuses a non-admin removing someone else (403) and removing a non-member (404); nothing changes", async () => {
    const [alice, bob, carol, eve] = await users("alice", "bob", "carol", "eve");
    const chatId = await createGroup(alice, "team", [bob.id, carol.id]);
    await expectError(await removeMember(bob, chatId, carol.id), 403, "forbidden");
    await expectError(await removeMember(bob, chatId, alice.id), 403, "forbidden");
    await expectError(await removeMember(eve, chatId, carol.id), 403, "forbidden");
    await expectError(await removeMember(alice, chatId, eve.id), 404, "not_found");
    expect(await storedSeqs(chatId)).toEqual([1]);
    expect((await membersOf(carol.token, chatId)).map((m) => m.userId).sort()).toEqual(
      [alice.id, bob.id, carol.id].sort(),
    );
  });

  it("anyone leaves: a `left` system message, and the leaver is out", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await createGroup(alice, "team", [bob.id]);
    const b = (await connect(bob.token, "phone")).socket;
    const res = await removeMember(bob, chatId, bob.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ seq: 2 });
    expect((await systemAt(alice, chatId, 2)).event).toEqual({ event: "left", actor: bob.id });
    expect(await b.next("message")).toMatchObject({ seq: 2, kind: "system", sender: bob.id });
    await expectLockedOut(bob, b, chatId, alice.id);
    b.close();
  });

  it("a re-added member sees both of its stretches, and what was sent while it was out as a hidden run", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await createGroup(alice, "team", [bob.id]);
    expect((await removeMember(alice, chatId, bob.id)).status).toBe(200);
    const send = await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, {
      clientMsgId: "m",
      body: "while out",
    });
    expect(await send.json()).toMatchObject({ seq: 3 });
    expect((await history(bob.token, chatId)).status).toBe(403);

    expect(await (await addMember(alice, chatId, bob.id)).json()).toEqual({ seq: 4 });
    expect((await systemAt(bob, chatId, 4)).event).toEqual({ event: "added", actor: alice.id, userId: bob.id });
    expect((await messagesOf(bob.token, chatId)).map((m) => [m.seq, m.kind])).toEqual([
      [1, "system"],
      [2, "system"],
      [3, "hidden"],
      [4, "system"],
    ]);
    await fanoutSettled(chatId);
    expect(await chatsOf(bob.id)).toEqual([
      { chatId, type: "group", title: "team", lastSeq: 4, readSeq: 0, unread: 0, receipts: { delivered: 0, read: 0 } },
    ]);
    const b = await connect(bob.token, "phone");
    expect(b.ready.chats).toEqual([{ chatId, lastSeq: 4, readSeq: 0, unread: 0, receipts: { delivered: 0, read: 0 } }]);
    expect(await b.socket.request({ type: "send", chatId, clientMsgId: "back", body: "back" })).toMatchObject({
      seq: 5,
    });
    b.socket.close();
  });

  it("a re-added member's online devices are pushed what follows its return, not the backlog it missed", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await createGroup(alice, "team", [bob.id]);
    const b = await connect(bob.token, "phone");
    expect((await removeMember(alice, chatId, bob.id)).status).toBe(200);
    for (const n of [1, 2, 3]) {
      await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, { clientMsgId: `out-${n}`, body: `out ${n}` });
    }
    expect(await (await addMember(alice, chatId, bob.id)).json()).toEqual({ seq: 6 });
    await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, { clientMsgId: "back", body: "welcome back" });
    await b.socket.collect((f) => f.type === "message" && f.seq === 7, 1);
    await fanoutSettled(chatId);
    const pushed = b.socket.frames.filter((f) => f.type === "message").map((f) => f.seq);
    expect(pushed).toEqual([2, 6, 7]);
    // What was sent while it was out is one hidden run when it pulls history.
    expect(await messagesOf(bob.token, chatId)).toMatchObject([
      { seq: 1 },
      { seq: 2 },
      { chatId, seq: 3, kind: "hidden", through: 5 },
      { seq: 6 },
      { seq: 7 },
    ]);
    b.socket.close();
  });

  it("when the last admin leaves, the longest-standing member is promoted by a system message", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    // bob joined at creation, carol later: bob has been a member longest.
    const chatId = await createGroup(alice, "team", [bob.id]);
    expect((await addMember(alice, chatId, carol.id)).status).toBe(201);
    expect(await (await removeMember(alice, chatId, alice.id)).json()).toEqual({ seq: 3 });
    expect((await systemAt(bob, chatId, 3)).event).toEqual({ event: "left", actor: alice.id });
    const promoted = await systemAt(bob, chatId, 4);
    expect(promoted).toMatchObject({ kind: "system", sender: alice.id });
    expect(promoted.event).toEqual({ event: "promoted", actor: alice.id, userId: bob.id });
    expect(await membersOf(carol.token, chatId)).toEqual(
      [
        { userId: bob.id, role: "admin" },
        { userId: carol.id, role: "member" },
      ].sort((x, y) => (x.userId < y.userId ? -1 : 1)),
    );
    expect((await addMember(bob, chatId, alice.id)).status).toBe(201);
  });
});
