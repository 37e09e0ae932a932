/**
 * Receipts in a direct chat: the tick sequence, watermarks that never move back, and refusal
 * of receipts from outsiders.
 */
import { describe, expect, it } from "vitest";
import { pingBarrier, receiptBarrier } from "./helpers/barrier";
import { connect, openDirect, user } from "./helpers/client";

describe("receipts in a direct chat", () => {
  it("follows the design's tick sequence: ack, delivered by bob, read by bob; bob's other device gets read", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = await connect(alice.token, "phone");
    const b1 = await connect(bob.token, "phone");
    const b2 = await connect(bob.token, "laptop");

    const ack = await a.socket.request({ type: "send", chatId, clientMsgId: "m1", body: "hello" });
    expect(ack).toMatchObject({ type: "ack", seq: 1 });
    const pushed = await b1.socket.next("message");
    expect(pushed).toMatchObject({ seq: 1, body: "hello" });

    b1.socket.send({ type: "received", chatId, seq: 1 });
    expect(await a.socket.next("receipt")).toEqual({
      type: "receipt",
      chatId,
      seq: 1,
      status: "delivered",
      by: bob.id,
    });

    b1.socket.send({ type: "read", chatId, seq: 1 });
    expect(await a.socket.next("receipt")).toEqual({ type: "receipt", chatId, seq: 1, status: "read", by: bob.id });
    expect(await b2.socket.next("read")).toEqual({ type: "read", chatId, seq: 1 });
    // Bob's object sends `read` to all his devices at once: by the time it answers a ping on
    // the reading device, a copy for that device would have been sent before the pong.
    await pingBarrier(b1.socket);
    expect(b1.socket.frames.some((f) => f.type === "read")).toBe(false);
    for (const s of [a, b1, b2]) s.socket.close();
  });

  it("never moves a receipt backwards under 200 shuffled received and read frames", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = await connect(alice.token, "phone");
    const b = await connect(bob.token, "phone");
    for (let i = 1; i <= 40; i++) a.socket.send({ type: "send", chatId, clientMsgId: `m${i}`, body: `#${i}` });
    await a.socket.collect("ack", 40);

    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const frames = Array.from({ length: 200 }, () => ({
      type: random() < 0.5 ? "received" : "read",
      chatId,
      seq: 1 + Math.floor(random() * 40),
    }));
    for (const f of frames) b.socket.send(f);
    const maxRead = Math.max(...frames.filter((f) => f.type === "read").map((f) => f.seq));
    const maxAny = Math.max(...frames.map((f) => f.seq));
    await a.socket.collect((f) => f.type === "receipt" && f.status === "read" && f.seq === maxRead, 1);
    await a.socket.collect((f) => f.type === "receipt" && f.status === "delivered" && f.seq === maxAny, 1);
    // A read of one more message: its receipt comes after any late one for the 200 frames.
    expect(await receiptBarrier(chatId, a.socket, b.socket)).toBe(41);
    for (const status of ["delivered", "read"]) {
      const seqs = a.socket.frames
        .filter((f) => f.type === "receipt" && f.status === status)
        .map((f) => f.seq as number);
      expect(seqs.length).toBeGreaterThan(0);
      expect(seqs.at(-1)).toBe(41);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
    }
    a.socket.close();
    b.socket.close();
  });

  it("refuses receipts for a chat the sender is not in, and moves nothing", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const mallory = await user("mallory");
    const chatId = await openDirect(alice, bob);
    const a = await connect(alice.token, "phone");
    await a.socket.request({ type: "send", chatId, clientMsgId: "m1", body: "secret" });
    const m = await connect(mallory.token, "phone");
    const err = await m.socket.request({ type: "read", chatId, seq: 1 });
    expect(err).toMatchObject({ type: "error", code: "forbidden" });
    // Bob reads a second message: the chat pushes his receipts after anything it pushed for Mallory.
    const b = await connect(bob.token, "phone");
    expect(await receiptBarrier(chatId, a.socket, b.socket)).toBe(2);
    expect(a.socket.all("receipt")).toEqual([
      { type: "receipt", chatId, seq: 2, status: "delivered", by: bob.id },
      { type: "receipt", chatId, seq: 2, status: "read", by: bob.id },
    ]);
    for (const s of [a, b, m]) s.socket.close();
  });
});
