import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Message } from "../protocol";
import { api, connect, json, openDirect, type TestSocket, user } from "./helpers/client";

/**
 * Stores `count` messages from `sender` through the chat object's send RPC (the call a user
 * object makes for `send` frames), in batches: bulk seeding without the per-user rate limit.
 */
async function seed(chatId: string, sender: string, count: number, body: (n: number) => string): Promise<void> {
  const chat = env.CHAT.get(env.CHAT.idFromName(chatId));
  for (let start = 0; start < count; start += 250) {
    const items = Array.from({ length: Math.min(250, count - start) }, (_, i) => ({
      clientMsgId: `seed-${start + i}`,
      body: body(start + i),
    }));
    const result = await chat.send(chatId, sender, items);
    if (!result.ok) throw new Error(result.message);
  }
}

/** Pulls a chat with `history` frames after `cursor`, page by page, as a client does after `ready`. */
async function pullAll(socket: TestSocket, chatId: string, cursor: number): Promise<Message[]> {
  const out: Message[] = [];
  let after = cursor;
  for (;;) {
    const page = await socket.request({ type: "history", chatId, after, limit: 500 });
    const messages = page.messages as Message[];
    out.push(...messages);
    if (!page.more || messages.length === 0) return out;
    after = messages.at(-1)?.seq ?? after;
  }
}

describe("offline sync", () => {
  it("bob misses 500 messages across 3 chats: ready names exactly those chats; history returns all 500 once, in order", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const direct = await openDirect(alice, bob);
    const group = (
      await json<{ chatId: string }>(
        await api(alice.token, "POST", "/v1/chats", { type: "group", title: "g", members: [bob.id, carol.id] }),
      )
    ).chatId;
    const quiet = await openDirect(carol, bob);

    // Bob's phone is up to date before going offline: it holds the group's `created` message.
    const b0 = await connect(bob.token, "phone");
    b0.socket.send({ type: "received", chatId: group, seq: 1 });
    await b0.socket.request({ type: "ping" });
    b0.socket.close();

    // Alice (and Carol) send while Bob is offline: a few over a socket, the bulk through the chats' send RPC.
    const a = await connect(alice.token, "phone");
    const third = await openDirect(alice, carol);
    const chats = [direct, group, quiet];
    const counts = [200, 150, 150];
    for (const [i, chatId] of chats.entries()) {
      const sender = chatId === quiet ? carol.id : alice.id;
      await seed(chatId, sender, (counts[i] ?? 0) - 10, (n) => `chat ${i} #${n}`);
      const s = chatId === quiet ? await connect(carol.token, "phone") : a;
      for (let n = (counts[i] ?? 0) - 10; n < (counts[i] ?? 0); n++) {
        s.socket.send({ type: "send", chatId, clientMsgId: `c${i}-${n}`, body: `chat ${i} #${n}` });
      }
      await s.socket.collect((f) => f.type === "ack" && f.chatId === chatId, 10);
    }
    // A chat with no news for Bob: it must not appear in his ready.
    await seed(third, alice.id, 5, (n) => `not for bob ${n}`);

    const b = await connect(bob.token, "phone");
    const ready = b.ready.chats as { chatId: string; lastSeq: number }[];
    expect(ready.map((c) => c.chatId).sort()).toEqual([...chats].sort());
    let total = 0;
    for (const [i, chatId] of chats.entries()) {
      const cursor = chatId === group ? 1 : 0;
      const got = (await pullAll(b.socket, chatId, cursor)).filter((m) => m.kind === "text");
      expect(got.map((m) => m.body)).toEqual(Array.from({ length: counts[i] ?? 0 }, (_, n) => `chat ${i} #${n}`));
      const seqs = got.map((m) => m.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      total += got.length;
    }
    expect(total).toBe(500);

    // Once the device acknowledges what it pulled, the next ready names nothing.
    for (const chatId of chats) b.socket.send({ type: "received", chatId, seq: 1_000_000 });
    await b.socket.request({ type: "ping" });
    b.socket.close();
    const again = await connect(bob.token, "phone");
    expect(again.ready.chats).toEqual([]);
    again.socket.close();
    a.socket.close();
  });

  it("a device that missed 5,000 messages gets all of them, in seq order, in pages", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    await seed(chatId, alice.id, 5_000, (n) => `#${n}`);
    const b = await connect(bob.token, "tablet");
    expect(b.ready.chats).toEqual([
      { chatId, lastSeq: 5_000, readSeq: 0, unread: 5_000, receipts: { delivered: 0, read: 0 } },
    ]);
    const got = await pullAll(b.socket, chatId, 0);
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 5_000 }, (_, i) => i + 1));
    b.socket.close();
  }, 120_000);
});
