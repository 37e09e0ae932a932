/**
 * Batching on the send path (issue 17): the sender's queue gathers a device's window into one
 * call to the chat, and the chat's waiting watermarks share a send's commit.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { MemberRow } from "../objects/chat/receipts";
import { WATERMARK_BATCH_MS, WatermarkCommit } from "../objects/chat/watermark-commit";
import type { Ack, SendItem } from "../objects/contracts";
import { type Outcome, ok } from "../objects/outcome";
import { GATHER_MS, SendQueue } from "../objects/user/send-queue";
import type { Message } from "../protocol";
import { connect, openDirect, user } from "./helpers/client";
import { chatStub } from "./helpers/groups";

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A send queue whose chat stores each call's items under the next seqs once `release` is called. */
function heldQueue() {
  const calls: string[][] = [];
  const held: (() => void)[] = [];
  let seq = 0;
  const queue = new SendQueue(
    async (_chatId, _userId, items: SendItem[]) => {
      calls.push(items.map((i) => i.clientMsgId));
      await new Promise<void>((r) => held.push(r));
      return ok(
        items.map((item): Outcome<Ack> => {
          seq += 1;
          const message = { seq, clientMsgId: item.clientMsgId } as Message;
          return ok({ seq, ts: 1, duplicate: false, message });
        }),
      );
    },
    () => {},
  );
  const release = async () => {
    while (held.length === 0) await wait(1);
    held.shift()?.();
  };
  return { calls, queue, release };
}

const item = (clientMsgId: string): SendItem => ({ clientMsgId, body: clientMsgId });

describe("send queue", () => {
  it("a device's window goes in one call: the batch after an ack waits for the sends the ack releases", async () => {
    const { calls, queue, release } = heldQueue();
    const seqs: [string, number][] = [];
    // A device keeping 4 in flight: a0 goes alone, a1..a3 wait behind it, and each ack is answered with a send.
    const send = (id: string, next?: string): Promise<void> =>
      queue.submit("d~chat", "alice", item(id)).then((r) => {
        seqs.push([id, r.ok ? r.value.seq : -1]);
        if (next) void send(next);
      });
    const all = [send("a0", "a4"), send("a1"), send("a2"), send("a3")];
    await release();
    await release();
    await Promise.all(all);
    await wait(GATHER_MS * 5);
    expect(calls).toEqual([["a0"], ["a1", "a2", "a3", "a4"]]);
    expect(seqs).toEqual([
      ["a0", 1],
      ["a1", 2],
      ["a2", 3],
      ["a3", 4],
      ["a4", 5],
    ]);
  });

  it("the gathering wait is bounded: sends that wait go within a few milliseconds when no more come", async () => {
    const { calls, queue, release } = heldQueue();
    const first = queue.submit("d~chat", "alice", item("b0"));
    const second = queue.submit("d~chat", "alice", item("b1"));
    await release();
    await first;
    const started = Date.now();
    await release();
    expect(await second).toMatchObject({ ok: true, value: { seq: 2 } });
    expect(calls).toEqual([["b0"], ["b1"]]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("watermark commit", () => {
  const member = (userId: string) => ({ userId }) as MemberRow;

  function counted() {
    const transactions: string[][] = [];
    let open: string[] | null = null;
    const commit = new WatermarkCommit(
      (write) => {
        open = [];
        write({} as never);
        transactions.push(open);
        open = null;
      },
      (_tx, m) => open?.push(m.userId),
    );
    return { commit, transactions };
  }

  it("a send's commit takes the waiting watermarks along: written at once, answered, and not written again", async () => {
    const { commit, transactions } = counted();
    let answered = 0;
    void commit.add(member("bob")).then(() => answered++);
    void commit.add(member("carol")).then(() => answered++);
    commit.writeNow();
    expect(transactions).toEqual([["bob", "carol"]]);
    await wait(0);
    expect(answered).toBe(2);
    await wait(WATERMARK_BATCH_MS * 4);
    expect(transactions).toEqual([["bob", "carol"]]);
  });

  it("without a send, the watermarks of one window are written together once the window ends", async () => {
    const { commit, transactions } = counted();
    const a = commit.add(member("bob"));
    const b = commit.add(member("carol"));
    expect(transactions).toEqual([]);
    await Promise.all([a, b]);
    expect(transactions).toEqual([["bob", "carol"]]);
    commit.writeNow();
    expect(transactions).toHaveLength(1);
  });
});

describe("in the chat object", () => {
  it("a receipt waiting for its commit is written with the next send, not after its window", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = await connect(alice.token, "phone");
    await a.socket.request({ type: "send", chatId, clientMsgId: "m1", body: "m1" });
    await runInDurableObject(chatStub(chatId), async (chat, state) => {
      // The window's timer never fires here: only a send can write the waiting receipt.
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      try {
        const marked = chat.markReceipts(chatId, bob.id, { delivered: 1, read: 0 });
        const sent = await chat.send(chatId, alice.id, [{ clientMsgId: "m2", body: "m2" }]);
        expect(sent).toMatchObject({ ok: true, value: [{ ok: true, value: { seq: 2 } }] });
        const row = state.storage.sql
          .exec<{ delivered: number }>("SELECT delivered_seq AS delivered FROM members WHERE user_id = ?", bob.id)
          .one();
        expect(row.delivered).toBe(1);
        expect(await marked).toMatchObject({ ok: true, value: { delivered: 1 } });
      } finally {
        vi.useRealTimers();
      }
    });
    a.socket.close();
  });
});
