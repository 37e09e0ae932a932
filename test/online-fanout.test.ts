/**
 * Fan-out that costs what is online: a chat delivers to members with a device connected; a
 * member with none parks the chat at its first delivery and gets nothing more until a device
 * connects, when it resumes the chat and its `ready` names the chat at its true last seq.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { messageBarrier, pingBarrier } from "./helpers/barrier";
import { recordDeliveries } from "./helpers/chat-internals";
import { connect, type Frame, history, sendMany, type TestSocket } from "./helpers/client";
import { evict } from "./helpers/evict";
import { addMember, chatStub, chatsOf, createGroup, fanoutSettled, removeMember, users } from "./helpers/groups";

const texts = (s: TestSocket) => s.frames.filter((f) => f.type === "message" && f.kind === "text");
const chatIn = (ready: Frame, chatId: string) =>
  (ready.chats as { chatId: string; lastSeq: number }[]).find((c) => c.chatId === chatId);

describe("fan-out to who is online", () => {
  it("after one delivery each, offline members cost no call: a message goes to the online members only", async () => {
    const [alice, bob, carol, dave, erin] = await users("alice", "bob", "carol", "dave", "erin");
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    const chatId = await createGroup(alice, "team", [bob.id, carol.id, dave.id, erin.id]);
    // The creation reached everyone: carol, dave and erin had no device, so each parked the chat.
    expect(await fanoutSettled(chatId)).toEqual([]);

    const recorded = await recordDeliveries(chatStub(chatId));
    const sent = await sendMany(a, chatId, 5, "m");
    await b.collect((f) => f.type === "message" && f.seq === sent.at(-1)?.seq, 1);
    expect(await fanoutSettled(chatId)).toEqual([]);
    await recorded.restore();
    // Each round calls bob alone: alice's object takes her copies from the acks.
    expect(new Set(recorded.calls)).toEqual(new Set([bob.id]));
    expect(recorded.calls.length).toBeLessThanOrEqual(5);

    // The chat remembers who parked across a restart: the next message still calls bob alone.
    await evict(chatStub(chatId));
    const again = await recordDeliveries(chatStub(chatId));
    const next = (await sendMany(a, chatId, 1, "after-restart"))[0]?.seq;
    await b.next((f) => f.type === "message" && f.seq === next);
    expect(await fanoutSettled(chatId)).toEqual([]);
    await again.restore();
    expect(again.calls).toEqual([bob.id]);
    a.close();
    b.close();
  });

  it("an offline member's ready names the chat at its last seq, and what follows is pushed live", async () => {
    const [alice, bob] = await users("alice", "bob");
    const a = (await connect(alice.token, "phone")).socket;
    const chatId = await createGroup(alice, "team", [bob.id]);
    const sent = await sendMany(a, chatId, 30, "while-away");
    const last = sent.at(-1)?.seq as number;
    expect(await fanoutSettled(chatId)).toEqual([]);

    const { socket: b, ready } = await connect(bob.token, "phone");
    // Every message after the `created` one is alice's, and bob has read none.
    expect(chatIn(ready, chatId)).toEqual({
      chatId,
      lastSeq: last,
      readSeq: 0,
      unread: last - 1,
      receipts: { delivered: 0, read: 0 },
    });
    expect((await history(bob.token, chatId, "after=0&limit=500")).messages.map((m) => m.seq)).toEqual(
      Array.from({ length: last }, (_, i) => i + 1),
    );
    // Resumed: the next message is pushed to bob's device, and nothing before it is.
    const next = await messageBarrier(chatId, a, [b]);
    expect(texts(b).map((f) => f.seq)).toEqual([next]);
    a.close();
    b.close();
  });

  it("a member who connects mid-burst gets every message once: from ready and history, then pushed", async () => {
    const [alice, carol] = await users("alice", "carol");
    const a = (await connect(alice.token, "phone")).socket;
    const chatId = await createGroup(alice, "team", [carol.id]);
    const burst = sendMany(a, chatId, 120, "burst");
    const { socket: c, ready } = await connect(carol.token, "phone");
    const acked = await burst;
    const last = acked.at(-1)?.seq as number;
    const barrier = await messageBarrier(chatId, a, [c]);
    const fromReady = chatIn(ready, chatId)?.lastSeq ?? 0;
    const fetched = (await history(carol.token, chatId, "after=0&limit=500")).messages.filter(
      (m) => m.seq <= fromReady,
    );
    const pushed = texts(c).map((f) => f.seq as number);
    // What ready announced comes from history; everything after it was pushed, in order, once.
    expect(pushed).toEqual(Array.from({ length: barrier - fromReady }, (_, i) => fromReady + i + 1));
    expect([...fetched.map((m) => m.seq), ...pushed]).toEqual(Array.from({ length: barrier }, (_, i) => i + 1));
    expect(barrier).toBe(last + 1);
    a.close();
    c.close();
  });

  it("a member who goes offline mid-burst misses nothing: its next ready names the chat at its last seq", async () => {
    const [alice, bob] = await users("alice", "bob");
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    const chatId = await createGroup(alice, "team", [bob.id]);
    const burst = sendMany(a, chatId, 120, "burst");
    await b.next((f) => f.type === "message" && f.kind === "text");
    b.close();
    const last = (await burst).at(-1)?.seq as number;
    expect(await fanoutSettled(chatId)).toEqual([]);

    const { socket: b2, ready } = await connect(bob.token, "phone");
    const held = Math.max(0, ...texts(b).map((f) => f.seq as number));
    expect(chatIn(ready, chatId)?.lastSeq).toBe(last);
    const rest = (await history(bob.token, chatId, `after=${held}&limit=500`)).messages;
    expect(rest.map((m) => m.seq)).toEqual(Array.from({ length: last - held }, (_, i) => held + i + 1));
    a.close();
    b2.close();
  });

  it("a member removed while offline leaves the chat's list, gets nothing after, and a re-add reaches it", async () => {
    const [alice, bob] = await users("alice", "bob");
    const a = (await connect(alice.token, "phone")).socket;
    const chatId = await createGroup(alice, "team", [bob.id]);
    await sendMany(a, chatId, 3, "before");
    expect(await fanoutSettled(chatId)).toEqual([]);
    const removed = (await (await removeMember(alice, chatId, bob.id)).json()) as { seq: number };
    await sendMany(a, chatId, 3, "after");
    expect(await fanoutSettled(chatId)).toEqual([]);
    expect(await chatsOf(bob.id)).toEqual([]);
    const { socket: b, ready } = await connect(bob.token, "phone");
    expect(chatIn(ready, chatId)).toBeUndefined();

    // Re-added while connected: bob's object had parked the chat before; the add is delivered.
    const added = (await (await addMember(alice, chatId, bob.id)).json()) as { seq: number };
    expect(added.seq).toBeGreaterThan(removed.seq);
    await b.next((f) => f.type === "message" && f.seq === added.seq);
    const next = await messageBarrier(chatId, a, [b]);
    await pingBarrier(b);
    expect(b.all("message").map((f) => f.seq)).toEqual([added.seq, next]);
    a.close();
    b.close();
  });

  it("after a crash of a user object that was online, the next ready still names the chat at its last seq", async () => {
    const [alice, bob] = await users("alice", "bob");
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    const chatId = await createGroup(alice, "team", [bob.id]);
    const sent = await sendMany(a, chatId, 10, "live");
    const last = sent.at(-1)?.seq as number;
    await b.collect((f) => f.type === "message" && f.seq === last, 1);
    // bob's object holds the chat's new last seq in memory only (deferred write): crash it now.
    const stub = env.USER.get(env.USER.idFromName(bob.id));
    await runInDurableObject(stub, (_instance, state) => state.abort("crash")).catch(() => {});
    await b.waitClosed(10_000).catch(() => {});

    const { socket: laptop, ready } = await connect(bob.token, "laptop");
    // Every message after the `created` one is alice's, and bob has read none.
    expect(chatIn(ready, chatId)).toEqual({
      chatId,
      lastSeq: last,
      readSeq: 0,
      unread: last - 1,
      receipts: { delivered: 0, read: 0 },
    });
    a.close();
    laptop.close();
  });
});
