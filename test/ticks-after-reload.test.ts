/**
 * Ticks after a reconnect: `ready` and `GET /v1/chats` carry, per chat, how far the user's own
 * messages were delivered and read, so a device that reloads shows ✓✓ and blue ticks without
 * asking message by message. Direct chats give the peer's marks; groups the lowest of the others.
 */

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChatSummary } from "../protocol";
import { api, connect, json, openDirect, type TestSocket, unique } from "./helpers/client";
import { evict } from "./helpers/evict";
import { createGroup, type User, users } from "./helpers/groups";

const userObjects: DurableObjectNamespace = env.USER;

async function receiptsIn(u: User, chatId: string) {
  const { chats } = await json<{ chats: ChatSummary[] }>(await api(u.token, "GET", "/v1/chats"));
  return chats.find((c) => c.chatId === chatId)?.receipts;
}

async function send(socket: TestSocket, chatId: string, body: string): Promise<number> {
  const ack = await socket.request({ type: "send", chatId, clientMsgId: unique("m"), body });
  if (ack.type !== "ack") throw new Error(JSON.stringify(ack));
  return ack.seq as number;
}

describe("ticks after a reconnect", () => {
  it("a direct chat: the peer's delivered and read marks, in the list, in ready, after a restart", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    const first = await send(a, chatId, "one");
    const second = await send(a, chatId, "two");
    await b.collect((f) => f.type === "message" && f.seq === second, 1);
    b.send({ type: "received", chatId, seq: second });
    b.send({ type: "read", chatId, seq: first });
    await a.collect((f) => f.type === "receipt" && f.status === "read" && f.seq === first, 1);
    await a.collect((f) => f.type === "receipt" && f.status === "delivered" && f.seq === second, 1);
    expect(await receiptsIn(alice, chatId)).toEqual({ delivered: second, read: first });
    // A new device of alice's: ready names the chat with its ticks.
    const laptop = await connect(alice.token, "laptop");
    const entry = (laptop.ready.chats as { chatId: string; receipts: unknown }[]).find((c) => c.chatId === chatId);
    expect(entry?.receipts).toEqual({ delivered: second, read: first });
    // Bob's own messages have no ticks yet.
    expect(await receiptsIn(bob, chatId)).toEqual({ delivered: 0, read: 0 });
    for (const s of [a, b, laptop.socket]) s.close();
    await evict(userObjects.get(userObjects.idFromName(alice.id)));
    expect(await receiptsIn(alice, chatId)).toEqual({ delivered: second, read: first });
  });

  it("a group: the lowest marks of the other members, learned by an offline sender when it comes back", async () => {
    const [owner, ann, ben] = await users("owner", "ann", "ben");
    const chatId = await createGroup(owner, "ticks", [ann.id, ben.id]);
    const o = (await connect(owner.token, "phone")).socket;
    const seq = await send(o, chatId, "hello both");
    o.close();
    await o.waitClosed().catch(() => {});
    const an = (await connect(ann.token, "phone")).socket;
    const be = (await connect(ben.token, "phone")).socket;
    an.send({ type: "read", chatId, seq });
    be.send({ type: "received", chatId, seq });
    // Ben's read comes last: only then is the message read by everyone.
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const poll = async () => {
        const r = await receiptsIn(owner, chatId);
        if (r?.delivered === seq) return resolve();
        if (Date.now() > deadline) return reject(new Error(`receipts stayed ${JSON.stringify(r)}`));
        setTimeout(poll, 50);
      };
      void poll();
    });
    expect(await receiptsIn(owner, chatId)).toEqual({ delivered: seq, read: 0 });
    be.send({ type: "read", chatId, seq });
    const { ready, socket } = await connect(owner.token, "tablet");
    const deadline = Date.now() + 10_000;
    while ((await receiptsIn(owner, chatId))?.read !== seq && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await receiptsIn(owner, chatId)).toEqual({ delivered: seq, read: seq });
    expect((ready.chats as { chatId: string }[]).some((c) => c.chatId === chatId)).toBe(true);
    for (const s of [an, be, socket]) s.close();
  });
});
