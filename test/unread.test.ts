/**
 * Unread counts in `ready` and `GET /v1/chats`: text messages from others after the user's
 * read mark, not deleted. Edits, deletes, reactions and system messages never count. Right
 * across devices, reads on another device, deletes, parking and restarts of the user's object.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChatSummary } from "../protocol";
import { messageBarrier } from "./helpers/barrier";
import { api, connect, json, openDirect, type TestSocket, unique } from "./helpers/client";
import { evict } from "./helpers/evict";
import { createGroup, type User, users } from "./helpers/groups";

const userNamespace: DurableObjectNamespace = env.USER;

async function unreadIn(u: User, chatId: string): Promise<number | undefined> {
  const res = await api(u.token, "GET", "/v1/chats");
  const { chats } = await json<{ chats: ChatSummary[] }>(res);
  return chats.find((c) => c.chatId === chatId)?.unread;
}

async function send(socket: TestSocket, chatId: string, fields: Record<string, unknown>): Promise<number> {
  const ack = await socket.request({ type: "send", chatId, clientMsgId: unique("c"), body: "", ...fields });
  if (ack.type !== "ack") throw new Error(JSON.stringify(ack));
  return ack.seq as number;
}

/** `reader` reads up to `seq` and waits until the chat has recorded it (the read receipt reaches `sender`). */
async function readUpTo(reader: TestSocket, sender: TestSocket, chatId: string, seq: number): Promise<void> {
  reader.send({ type: "read", chatId, seq });
  await sender.collect((f) => f.type === "receipt" && f.status === "read" && (f.seq as number) >= seq, 1);
}

describe("unread counts", () => {
  it("count texts from others after the read mark, in ready and the chat list, across devices and restarts", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    // Bob is offline: his object parks the chat and learns the count from it.
    const t1 = await send(a, chatId, { body: "one" });
    const t2 = await send(a, chatId, { body: "two" });
    await send(a, chatId, { kind: "edit", target: t1, body: "one (edited)" });
    await send(a, chatId, { kind: "reaction", target: t2, body: "👍" });
    const t3 = await send(a, chatId, { body: "three" });
    expect(await unreadIn(bob, chatId)).toBe(3);

    const { socket: phone, ready } = await connect(bob.token, "phone");
    expect((ready.chats as { chatId: string; unread: number }[]).find((c) => c.chatId === chatId)?.unread).toBe(3);
    // Online now: a new text counts, a reaction does not; a delete of an unread one uncounts it.
    const t4 = await send(a, chatId, { body: "four" });
    await send(a, chatId, { kind: "reaction", target: t4, body: "😂" });
    await messageBarrier(chatId, a, [phone]);
    expect(await unreadIn(bob, chatId)).toBe(5);
    await send(a, chatId, { kind: "delete", target: t3 });
    await messageBarrier(chatId, a, [phone]);
    expect(await unreadIn(bob, chatId)).toBe(5);

    // Bob's own messages never count.
    const mine = await send(phone, chatId, { body: "bob here" });
    expect(await unreadIn(bob, chatId)).toBe(5);
    // Read on the phone up to "two": what is left is four and the two barriers.
    await readUpTo(phone, a, chatId, t2);
    expect(await unreadIn(bob, chatId)).toBe(3);
    const laptop = await connect(bob.token, "laptop");
    expect((laptop.ready.chats as { chatId: string; unread: number }[]).find((c) => c.chatId === chatId)?.unread).toBe(
      3,
    );

    // A restart of Bob's object keeps the count.
    await evict(userNamespace.get(userNamespace.idFromName(bob.id)));
    expect(await unreadIn(bob, chatId)).toBe(3);
    await readUpTo(laptop.socket, a, chatId, mine);
    expect(await unreadIn(bob, chatId)).toBe(0);
    await evict(userNamespace.get(userNamespace.idFromName(bob.id)));
    expect(await unreadIn(bob, chatId)).toBe(0);
    for (const s of [a, phone, laptop.socket]) s.close();
  });

  it("system messages do not count in a group; members' texts do", async () => {
    const [owner, ann] = await users("owner", "ann");
    const chatId = await createGroup(owner, "g", [ann.id]);
    expect(await unreadIn(ann, chatId)).toBe(0);
    const o = (await connect(owner.token, "phone")).socket;
    await send(o, chatId, { body: "welcome" });
    const [carl] = await users("carl");
    expect((await api(owner.token, "POST", `/v1/chats/${chatId}/members`, { userId: carl.id })).status).toBe(201);
    expect(await unreadIn(ann, chatId)).toBe(1);
    expect(await unreadIn(carl, chatId)).toBe(0);
    o.close();
  });
});
