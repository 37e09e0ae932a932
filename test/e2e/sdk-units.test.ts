/** The client SDK's pure parts, without a server: ordering, ticks, the outbox and backoff. */
import { describe, expect, it } from "vitest";
import { backoffDelay, type Message, memoryStorage } from "../../client";
import { Cursors } from "../../client/cursors";
import type { TickEvent } from "../../client/events";
import { Outbox } from "../../client/outbox";
import { Sequencer } from "../../client/sequencer";
import { Ticks } from "../../client/ticks";

const msg = (seq: number, chatId = "d~a~b"): Message => ({
  chatId,
  seq,
  sender: "a",
  clientMsgId: `c${seq}`,
  body: `m${seq}`,
  ts: seq,
  kind: "text",
});

describe("sequencer", () => {
  it("delivers each message once in seq order, whatever the order and repeats of arrival", () => {
    const out: number[] = [];
    const cursors = new Cursors(memoryStorage(), "k");
    const seq = new Sequencer(cursors, (m) => out.push(m.seq));
    expect(seq.add("d~a~b", [msg(3), msg(2)])).toBe(true);
    expect(out).toEqual([]);
    expect(seq.add("d~a~b", [msg(1), msg(2)])).toBe(false);
    seq.add("d~a~b", [msg(1), msg(3), msg(4)]);
    expect(out).toEqual([1, 2, 3, 4]);
    expect(cursors.get("d~a~b")).toBe(4);
  });

  it("starts after a persisted cursor", () => {
    const storage = memoryStorage();
    new Cursors(storage, "k").advance("d~a~b", 7);
    const out: number[] = [];
    new Sequencer(new Cursors(storage, "k"), (m) => out.push(m.seq)).add("d~a~b", [msg(7), msg(8)]);
    expect(out).toEqual([8]);
  });
});

describe("ticks", () => {
  it("moves own messages forward with watermarks, never back, read implying delivered", () => {
    const ticks: TickEvent[] = [];
    const t = new Ticks((e) => ticks.push(e));
    t.sent("c", 1, "x1");
    t.sent("c", 2, "x2");
    t.sent("c", 1, "x1");
    t.receipt("c", 1, "read");
    t.receipt("c", 2, "delivered");
    t.receipt("c", 1, "delivered");
    t.sent("c", 3, "x3");
    t.receipt("c", 5, "read");
    const of = (s: number) => ticks.filter((e) => e.seq === s).map((e) => e.status);
    expect(of(1)).toEqual(["sent", "delivered", "read"]);
    expect(of(2)).toEqual(["sent", "delivered", "read"]);
    expect(of(3)).toEqual(["sent", "delivered", "read"]);
  });

  it("an ack that arrives after the receipt that covers it still ends at that status", () => {
    const ticks: TickEvent[] = [];
    const t = new Ticks((e) => ticks.push(e));
    t.receipt("c", 4, "read");
    t.sent("c", 4, "x4");
    expect(ticks.map((e) => e.status)).toEqual(["sent", "delivered", "read"]);
  });
});

describe("outbox", () => {
  it("survives a restart through its storage and resolves every waiter of one clientMsgId", async () => {
    const storage = memoryStorage();
    const first = new Outbox(storage, "o");
    void first.add({ chatId: "c", clientMsgId: "m1", body: "hi" }).catch(() => {});
    const again = new Outbox(storage, "o");
    expect(again.takeUnsent(1)).toEqual([{ chatId: "c", clientMsgId: "m1", body: "hi" }]);
    expect(again.takeUnsent(1)).toEqual([]);
    const p1 = again.add({ chatId: "c", clientMsgId: "m1", body: "hi" });
    const p2 = again.add({ chatId: "c", clientMsgId: "m1", body: "hi" });
    expect(again.size).toBe(1);
    again.acked({ chatId: "c", clientMsgId: "m1", seq: 5, ts: 1 });
    expect(await p1).toMatchObject({ seq: 5 });
    expect(await p2).toMatchObject({ seq: 5 });
    expect(new Outbox(storage, "o").size).toBe(0);
  });
});

describe("backoff", () => {
  it("grows exponentially up to the cap, with full jitter", () => {
    const opts = { baseMs: 100, maxMs: 5_000 };
    expect([0, 1, 2, 3, 10].map((n) => backoffDelay(n, opts, () => 1))).toEqual([100, 200, 400, 800, 5_000]);
    expect(backoffDelay(6, opts, () => 0)).toBe(0);
    expect(backoffDelay(2, opts, () => 0.5)).toBe(200);
  });
});
