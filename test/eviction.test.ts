/**
 * Eviction: the chat object and the user objects are evicted mid-test. Nothing acknowledged is
 * lost, seqs carry on without a gap, and sockets that hibernated through it keep working.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PING, PONG } from "../protocol";
import { messageBarrier } from "./helpers/barrier";
import { connect, history, openDirect, sendMany, storedSeqs, type TestSocket, user } from "./helpers/client";
import { evict, expectReplaced, instanceOf } from "./helpers/evict";

/** Untyped stubs: the eviction helpers need no RPC types, and mixing both typed kinds is slow to check. */
const namespaces: Record<"CHAT" | "USER", DurableObjectNamespace> = env;
const chatStub = (chatId: string) => namespaces.CHAT.get(namespaces.CHAT.idFromName(chatId));
const userStub = (userId: string) => namespaces.USER.get(namespaces.USER.idFromName(userId));

/** Every seq in the chat's history, read over HTTP in pages. */
async function allSeqs(token: string, chatId: string): Promise<number[]> {
  const seqs: number[] = [];
  for (let after = 0, n = 0; n < 20; n++) {
    const page = await history(token, chatId, `after=${after}&limit=500`);
    seqs.push(...page.messages.map((m) => m.seq));
    if (!page.more) break;
    after = seqs.at(-1) ?? after;
  }
  return seqs;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("eviction", () => {
  it("evicting the chat object loses nothing acked, and seqs continue without a gap", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;

    const first = await sendMany(a, chatId, 30, "before");
    await evict(chatStub(chatId));
    expect(await allSeqs(bob.token, chatId)).toEqual(range(30));

    const second = await sendMany(b, chatId, 30, "after");
    expect(second.map((x) => x.seq)).toEqual(range(60).slice(30));
    expect(first.map((x) => x.seq)).toEqual(range(30));
    // A resend of an old clientMsgId still answers its first seq after the restart.
    const dup = await a.request({ type: "send", chatId, clientMsgId: "before-0", body: "again" });
    expect(dup.seq).toBe(1);
    expect(await storedSeqs(chatId)).toEqual(range(60));
    for (const s of [a, b]) s.close();
  });

  it("evicting the chat and sender objects while sends are in flight loses no acked message", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    await a.request({ type: "send", chatId, clientMsgId: "warm", body: "warm up" });

    const ids = Array.from({ length: 60 }, (_, i) => `burst-${i}`);
    const replies = ids.map((clientMsgId) =>
      a.next(
        (f) => (f.type === "ack" || f.type === "error") && (f.clientMsgId === clientMsgId || f.id === clientMsgId),
      ),
    );
    const stubs = [chatStub(chatId), userStub(alice.id)];
    const before = await Promise.all(stubs.map(instanceOf));
    for (const clientMsgId of ids) a.send({ type: "send", id: clientMsgId, chatId, clientMsgId, body: clientMsgId });
    await Promise.all(stubs.map((stub) => evictDurableObject(stub)));
    const settled = await Promise.all(replies);
    for (const [i, stub] of stubs.entries()) await expectReplaced(stub, before[i] as object);

    const acked = settled.filter((f) => f.type === "ack").map((f) => f.seq as number);
    const stored = await allSeqs(alice.token, chatId);
    for (const seq of acked) expect(stored).toContain(seq);
    expect(stored).toEqual(range(stored.length));
    // Whatever was refused during the restart goes through on resend, and nothing is stored twice.
    const refused = settled.filter((f) => f.type === "error").map((f) => f.id as string);
    for (const clientMsgId of refused) {
      const ack = await a.request({ type: "send", chatId, clientMsgId, body: clientMsgId });
      expect(ack.type).toBe("ack");
    }
    expect(await allSeqs(alice.token, chatId)).toEqual(range(61));
    a.close();
  });

  it("sockets that hibernated through a user object's eviction keep working", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a1 = (await connect(alice.token, "phone")).socket;
    const a2 = (await connect(alice.token, "laptop")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    await a1.request({ type: "send", chatId, clientMsgId: "m1", body: "one" });
    await b.next("message");

    for (const stub of [userStub(alice.id), userStub(bob.id), chatStub(chatId)]) await evict(stub);

    // The runtime answers the exact ping itself, and a ping with an id wakes the object.
    a1.send(PING);
    expect(JSON.stringify(await a1.next("pong"))).toBe(PONG);
    expect(await a1.request({ type: "ping" })).toMatchObject({ type: "pong" });

    // A send from a woken socket is acked, and pushed to the peer's hibernated socket and the
    // sender's other device, but not back to the sending device.
    const ack = await a1.request({ type: "send", chatId, clientMsgId: "m2", body: "two" });
    expect(ack).toMatchObject({ type: "ack", seq: 2 });
    expect(await b.next("message")).toMatchObject({ seq: 2, body: "two" });
    expect(await a2.next((f) => f.type === "message" && f.seq === 2)).toMatchObject({ body: "two" });

    // And the other way round, from the peer's woken socket.
    const back = await b.request({ type: "send", chatId, clientMsgId: "r1", body: "three" });
    expect(back.seq).toBe(3);
    for (const s of [a1, a2]) expect(await s.next((f) => f.type === "message" && f.seq === 3)).toBeTruthy();
    // A last message from the laptop reaches the phone from its own object and the peer through
    // the chat, so an echo or a second copy of 1..3 would have come first.
    expect(await messageBarrier(chatId, a2, [a1, b])).toBe(4);
    expect(a1.all("message").map((m) => m.seq)).toEqual([3, 4]);
    expect(b.all("message").map((m) => m.seq)).toEqual([1, 2, 4]);
    expect(a2.all("message").map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(a1.closed).toBeNull();
    expect(await storedSeqs(chatId)).toEqual([1, 2, 3, 4]);
    for (const s of [a1, a2, b]) s.close();
  });

  it("a device that reconnects after everything was evicted finds what it lacks", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    await sendMany(a, chatId, 5, "m");
    const stubs = [userStub(alice.id), userStub(bob.id), chatStub(chatId)];
    for (const stub of stubs) await evict(stub);
    const { socket: b, ready } = await connect(bob.token, "phone");
    expect(ready.chats).toEqual([expect.objectContaining({ chatId, lastSeq: 5 })]);
    const page = await b.request({ type: "history", chatId, after: 0 });
    expect((page.messages as { seq: number }[]).map((m) => m.seq)).toEqual(range(5));
    for (const s of [a, b] as TestSocket[]) s.close();
  });
});
