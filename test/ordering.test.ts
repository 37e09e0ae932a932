/**
 * Ordering under concurrency: five sockets pipeline 100 sends each into one chat. Seqs are
 * exactly 1..500, every device sees the same order, and each socket's sends keep their order.
 */
import { describe, expect, it } from "vitest";
import type { Message } from "../protocol";
import { messageBarrier } from "./helpers/barrier";
import { connect, history, openDirect, sendMany, storedSeqs, type TestSocket, user } from "./helpers/client";

const PER_SOCKET = 100;

describe("ordering", () => {
  it("5 sockets × 100 concurrent sends: seqs 1..500, no gap, no duplicate, one order for all", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const devices = [
      { name: "a1", owner: alice },
      { name: "a2", owner: alice },
      { name: "a3", owner: alice },
      { name: "b1", owner: bob },
      { name: "b2", owner: bob },
    ];
    const sockets: TestSocket[] = [];
    for (const d of devices) sockets.push((await connect(d.owner.token, d.name)).socket);

    // All 500 sends are on the wire before any ack is awaited.
    const acks = await Promise.all(sockets.map((s, i) => sendMany(s, chatId, PER_SOCKET, devices[i]?.name ?? "")));
    const total = devices.length * PER_SOCKET;

    const allSeqs = acks.flat().map((a) => a.seq as number);
    expect([...allSeqs].sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    // Per socket: acks in send order carry increasing seqs.
    for (const socketAcks of acks) {
      const seqs = socketAcks.map((a) => a.seq as number);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }

    // The log, as stored and as served, is that same order.
    expect(await storedSeqs(chatId)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const log: Message[] = [];
    for (let after = 0; log.length < total; ) {
      const page = await history(bob.token, chatId, `after=${after}&limit=500`);
      log.push(...page.messages);
      after = log.at(-1)?.seq ?? after;
      if (!page.more) break;
    }
    expect(log.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const bySeq = new Map(log.map((m) => [m.seq, m]));
    for (const a of acks.flat()) expect(bySeq.get(a.seq as number)?.clientMsgId).toBe(a.clientMsgId);

    // Every socket receives every message it did not send itself, once, in seq order, with the
    // same content as the log: together with its own acks that is the whole log.
    for (const [i, s] of sockets.entries()) {
      const own = new Set(acks[i]?.map((a) => a.seq as number));
      const pushed = await s.collect("message", total - own.size, 20_000);
      const seqs = pushed.map((m) => m.seq as number);
      expect(seqs, devices[i]?.name).toEqual(log.map((m) => m.seq).filter((q) => !own.has(q)));
      for (const m of pushed) {
        const { type, ...message } = m;
        expect(message).toEqual(bySeq.get(m.seq as number));
      }
    }
    // One more message from each device, in turn, reaching every other device: from the sender's
    // own object on its sibling devices, through the chat on the others. A late extra copy of
    // the 500 would have come before these.
    const barriers: number[] = [];
    for (const [i, s] of sockets.entries()) {
      barriers.push(
        await messageBarrier(
          chatId,
          s,
          sockets.filter((_, j) => j !== i),
        ),
      );
    }
    expect(barriers).toEqual([1, 2, 3, 4, 5].map((n) => total + n));
    for (const [i, s] of sockets.entries()) {
      const own = new Set([...(acks[i] ?? []).map((a) => a.seq as number), barriers[i]]);
      const expected = Array.from({ length: total + barriers.length }, (_, q) => q + 1).filter((q) => !own.has(q));
      expect(
        s.all("message").map((m) => m.seq),
        `${devices[i]?.name} got no extra copies`,
      ).toEqual(expected);
    }
    for (const s of sockets) s.close();
  });

  it("a resend with the same clientMsgId answers the same seq and ts and stores nothing", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a1 = (await connect(alice.token, "phone")).socket;
    const a2 = (await connect(alice.token, "laptop")).socket;
    const b = (await connect(bob.token, "phone")).socket;

    const first = await a1.request({ type: "send", chatId, clientMsgId: "once", body: "hello" });
    await a1.request({ type: "send", chatId, clientMsgId: "twice", body: "second" });
    // Resent from the same socket, from another device of the same user, and with a new body.
    const again = await a1.request({ type: "send", chatId, clientMsgId: "once", body: "hello" });
    const other = await a2.request({ type: "send", chatId, clientMsgId: "once", body: "changed body" });
    for (const dup of [again, other]) {
      expect(dup).toMatchObject({ type: "ack", chatId, clientMsgId: "once", seq: first.seq, ts: first.ts });
    }
    // Pipelined duplicates within one burst as well.
    const burst = await sendMany(a1, chatId, 3, "burst");
    const burstAgain = await sendMany(a1, chatId, 3, "burst");
    expect(burstAgain.map((a) => a.seq)).toEqual(burst.map((a) => a.seq));

    // Bob's own clientMsgIds are his: the same string from him is a new message.
    const bobs = await b.request({ type: "send", chatId, clientMsgId: "once", body: "bob's" });
    expect(bobs.seq).toBe(6);

    expect(await storedSeqs(chatId)).toEqual([1, 2, 3, 4, 5, 6]);
    const page = await history(alice.token, chatId);
    expect(page.messages.map((m) => m.body)).toEqual([
      "hello",
      "second",
      "burst #burst-0",
      "burst #burst-1",
      "burst #burst-2",
      "bob's",
    ]);
    // A message from each side through the same chat, after any second copy of a resend: Bob
    // gets Alice's, both of Alice's devices get Bob's (as her resends' copies would have come).
    expect(await messageBarrier(chatId, a1, [a2, b])).toBe(7);
    expect(await messageBarrier(chatId, b, [a1, a2])).toBe(8);
    expect(b.all("message").map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 7]);
    expect(a1.all("message").map((m) => m.seq)).toEqual([6, 8]);
    expect(a2.all("message").map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const s of [a1, a2, b]) s.close();
  });
});
