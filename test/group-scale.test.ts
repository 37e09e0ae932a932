/**
 * A group at the default member limit (1,024): fan-out to every member, sync for those who were
 * offline, and aggregated receipts that reach the sender as a handful of frames, not 1,023.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAX_GROUP_MEMBERS, PING } from "../protocol";
import { pingBarrier } from "./helpers/barrier";
import { flushReceipts } from "./helpers/chat-internals";
import { api, connect, type Frame, type TestSocket, tokenFor, unique, user } from "./helpers/client";
import { chatStub, chatsOf, createGroup, fanoutSettled, inBatches, pollUntil } from "./helpers/groups";

const SIZE = DEFAULT_MAX_GROUP_MEMBERS;
const CONNECTED = 64;

describe(`a group of ${SIZE} members, ${CONNECTED} of them connected`, () => {
  let owner: { id: string; token: string };
  let others: string[];
  let chatId: string;
  let ownerSocket: TestSocket;
  const sockets: { userId: string; socket: TestSocket }[] = [];
  let keepalive: ReturnType<typeof setInterval> | null = null;
  let seq = 0;

  beforeAll(async () => {
    owner = await user("big-owner");
    others = Array.from({ length: SIZE - 1 }, () => unique("big"));
    const connected = await Promise.all(
      others
        .slice(0, CONNECTED)
        .map(async (userId) => ({ userId, socket: (await connect(await tokenFor(userId), "phone")).socket })),
    );
    sockets.push(...connected);
    ownerSocket = (await connect(owner.token, "phone")).socket;
    // Clients ping every 30 s; the test runs long enough for silent sockets to be closed.
    keepalive = setInterval(() => {
      for (const s of [ownerSocket, ...sockets.map((c) => c.socket)]) if (!s.closed) s.send(PING);
    }, 20_000);
    chatId = await createGroup(owner, "everyone", others);
    // Waking 1,023 fresh user objects is most of this file's time.
    expect(await fanoutSettled(chatId)).toEqual([]);
  }, 120_000);

  afterAll(() => {
    clearInterval(keepalive);
    for (const { socket } of sockets) socket.close();
    ownerSocket?.close();
  });

  it("one send reaches all 64 connected members exactly once, and all 1,024 inboxes know of it", async () => {
    await Promise.all(sockets.map(({ socket }) => socket.next((f) => f.type === "message" && f.seq === 1, 30_000)));
    const ack = await ownerSocket.request(
      { type: "send", chatId, clientMsgId: "hello-all", body: "hello, everyone" },
      30_000,
    );
    expect(ack).toMatchObject({ type: "ack", seq: 2 });
    seq = ack.seq as number;

    await Promise.all(sockets.map(({ socket }) => socket.next((f) => f.type === "message" && f.seq === seq, 30_000)));
    expect(await fanoutSettled(chatId)).toEqual([]);
    const everyone = [owner.id, ...others];
    const known = await inBatches(everyone, 128, async (userId) =>
      (await chatsOf(userId)).find((c) => c.chatId === chatId),
    );
    expect(known.filter((c) => c?.lastSeq === seq && c.type === "group" && c.title === "everyone")).toHaveLength(SIZE);
    // The fan-out is over for every member, so a duplicate would have arrived by now.
    for (const { socket } of sockets) {
      const copies = socket.frames.filter((f) => f.type === "message" && f.seq === seq);
      expect(copies).toHaveLength(1);
      expect(copies[0]).toMatchObject({ chatId, sender: owner.id, body: "hello, everyone", kind: "text" });
    }
    expect(ownerSocket.frames.filter((f) => f.type === "message" && f.seq === seq)).toHaveLength(0);
  }, 60_000);

  it("a member who was offline syncs on connect: ready names the chat, history has both messages", async () => {
    const offline = others[SIZE - 2] as string;
    const { socket, ready } = await connect(await tokenFor(offline), "laptop");
    expect(ready.chats).toEqual([{ chatId, lastSeq: seq, readSeq: 0, unread: 1, receipts: { delivered: 0, read: 0 } }]);
    const page = await socket.request({ type: "history", chatId, after: 0 }, 30_000);
    expect(page.messages).toMatchObject([
      { seq: 1, kind: "system", sender: owner.id },
      { seq, kind: "text", sender: owner.id, body: "hello, everyone" },
    ]);
    expect(page.more).toBe(false);
    socket.close();
  });

  it("refuses a 1,025th member and stores nothing", async () => {
    const res = await api(owner.token, "POST", `/v1/chats/${chatId}/members`, { userId: unique("one-too-many") });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "bad_request" } });
    const page = await chatStub(chatId).history(chatId, owner.id, { after: 0 });
    expect(page.ok && page.value.messages.map((m) => m.seq)).toEqual([1, seq]);
  });

  for (const status of ["delivered", "read"] as const) {
    it(`1,023 members acknowledge (${status}): the sender gets at most 5 receipt frames, the last for all`, async () => {
      const frameType = status === "delivered" ? "received" : "read";
      const isReceipt = (f: Frame) => f.type === "receipt" && f.status === status;
      const lastMember = others[0] as string;
      const socketMembers = new Set(sockets.map((s) => s.userId));
      const viaRpc = others.filter((u) => !socketMembers.has(u));

      // Everyone but one: over the sockets as devices do, and for the rest straight to the chat
      // object, which is the very call a user object makes for such a frame.
      for (const { userId, socket } of sockets)
        if (userId !== lastMember) socket.send({ type: frameType, chatId, seq });
      const marked = await inBatches(viaRpc, 64, async (userId) => {
        const marks = await chatStub(chatId).markReceipts(chatId, userId, {
          delivered: seq,
          read: status === "read" ? seq : 0,
        });
        return marks.ok;
      });
      expect(marked.every(Boolean)).toBe(true);
      const holders = async () => {
        const info = await chatStub(chatId).messageReceipts(chatId, owner.id, seq);
        return info.ok ? info.value[status].length : -1;
      };
      expect(await pollUntil(holders, (n) => n === SIZE - 2, 30_000)).toBe(SIZE - 2);
      // Whatever the chat owes the owner now is pushed, and a ping answered after it comes last:
      // nothing may claim that all have it while one member lacks it.
      await flushReceipts(chatStub(chatId));
      await pingBarrier(ownerSocket);
      expect(ownerSocket.frames.filter(isReceipt).some((f) => (f.seq as number) >= seq)).toBe(false);

      const last = sockets.find((s) => s.userId === lastMember)?.socket as TestSocket;
      last.send({ type: frameType, chatId, seq });
      const all = await ownerSocket.next((f) => isReceipt(f) && f.seq === seq, 30_000);
      expect(all).toEqual({ type: "receipt", chatId, seq, status });
      await flushReceipts(chatStub(chatId));
      await pingBarrier(ownerSocket);
      const receipts = ownerSocket.frames.filter(isReceipt);
      expect(receipts.length).toBeLessThanOrEqual(5);
      expect(receipts.at(-1)).toEqual({ type: "receipt", chatId, seq, status });
    }, 60_000);
  }
});
