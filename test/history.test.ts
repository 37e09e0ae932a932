/**
 * History over 120 messages, over HTTP and over the `history` frame: `after` ascending,
 * `before` descending, `limit` (default 50, at most 500) and `more`; bad queries are 400.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../protocol";
import { connect, history, openDirect, sendMany, type TestSocket, user } from "./helpers/client";

const TOTAL = 120;
const range = (from: number, to: number) =>
  from <= to
    ? Array.from({ length: to - from + 1 }, (_, i) => from + i)
    : Array.from({ length: from - to + 1 }, (_, i) => from - i);

/** [query, seqs expected, more expected] — the same cases for HTTP and for the frame. */
const CASES: [Record<string, number>, number[], boolean][] = [
  [{}, range(1, 50), true],
  [{ after: 0 }, range(1, 50), true],
  [{ after: 0, limit: 10 }, range(1, 10), true],
  [{ after: 50 }, range(51, 100), true],
  [{ after: 70 }, range(71, 120), false],
  [{ after: 100, limit: 50 }, range(101, 120), false],
  [{ after: 119, limit: 5 }, [120], false],
  [{ after: 120 }, [], false],
  [{ after: 1000 }, [], false],
  [{ after: 0, limit: 120 }, range(1, 120), false],
  [{ after: 0, limit: 119 }, range(1, 119), true],
  [{ after: 0, limit: 100_000 }, range(1, 120), false],
  [{ before: 121 }, range(120, 71), true],
  [{ before: 121, limit: 3 }, range(120, 118), true],
  [{ before: 1_000_000, limit: 2 }, range(120, 119), true],
  [{ before: 71, limit: 20 }, range(70, 51), true],
  [{ before: 51 }, range(50, 1), false],
  [{ before: 21 }, range(20, 1), false],
  [{ before: 2, limit: 1 }, [1], false],
  [{ before: 1 }, [], false],
  [{ before: 0 }, [], false],
];

const qs = (q: Record<string, number>) =>
  Object.entries(q)
    .map(([k, v]) => `${k}=${v}`)
    .join("&");

describe("history", () => {
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let chatId: string;
  let socket: TestSocket;

  beforeAll(async () => {
    alice = await user("alice");
    bob = await user("bob");
    chatId = await openDirect(alice, bob);
    socket = (await connect(bob.token, "phone")).socket;
    const a = (await connect(alice.token, "phone")).socket;
    await sendMany(a, chatId, TOTAL / 2, "a");
    await sendMany(socket, chatId, TOTAL / 2, "b");
    a.close();
  });

  it("pages over HTTP: after ascending, before descending, limit and more", async () => {
    for (const [query, seqs, more] of CASES) {
      const page = await history(alice.token, chatId, qs(query));
      expect(page.status, qs(query)).toBe(200);
      expect(
        page.messages.map((m) => m.seq),
        qs(query),
      ).toEqual(seqs);
      expect(page.more, qs(query)).toBe(more);
    }
  });

  it("serves whole messages, the same to both members", async () => {
    const mine = await history(alice.token, chatId, "after=0&limit=500");
    const theirs = await history(bob.token, chatId, "after=0&limit=500");
    expect(mine.messages).toEqual(theirs.messages);
    const first = mine.messages[0] as Message;
    expect(first).toEqual({
      chatId,
      seq: 1,
      sender: alice.id,
      clientMsgId: "a-0",
      body: "a #a-0",
      ts: expect.any(Number),
      kind: "text",
    });
    expect(mine.messages[60]).toMatchObject({ seq: 61, sender: bob.id, clientMsgId: "b-0" });
  });

  it("walks the whole log both ways with `more`", async () => {
    const up: number[] = [];
    for (let after = 0, more = true, n = 0; more && n < 20; n++) {
      const page = await history(alice.token, chatId, `after=${after}&limit=17`);
      up.push(...page.messages.map((m) => m.seq));
      after = up.at(-1) ?? after;
      more = page.more;
    }
    expect(up).toEqual(range(1, TOTAL));
    const down: number[] = [];
    for (let before = TOTAL + 1, more = true, n = 0; more && n < 20; n++) {
      const page = await history(alice.token, chatId, `before=${before}&limit=17`);
      down.push(...page.messages.map((m) => m.seq));
      before = down.at(-1) ?? before;
      more = page.more;
    }
    expect(down).toEqual(range(TOTAL, 1));
  });

  it("refuses bad queries over HTTP with 400", async () => {
    for (const q of [
      "after=1&before=100",
      "after=0&before=0",
      "after=-1",
      "after=abc",
      "after=1.5",
      "after=",
      "after=1e3",
      "before=x",
      "limit=0",
      "limit=-5",
      "limit=ten",
      "after=99999999999999999999",
    ]) {
      const page = await history(alice.token, chatId, q);
      expect(page.status, q).toBe(400);
      expect(JSON.parse(page.text).error.code, q).toBe("bad_request");
    }
  });

  it("pages the same over the history frame", async () => {
    for (const [query, seqs, more] of CASES) {
      const reply = await socket.request({ type: "history", chatId, ...query });
      expect(reply.type, qs(query)).toBe("history");
      expect(reply.chatId).toBe(chatId);
      expect(
        (reply.messages as Message[]).map((m) => m.seq),
        qs(query),
      ).toEqual(seqs);
      expect(reply.more, qs(query)).toBe(more);
    }
    const frame = await socket.request({ type: "history", chatId, after: 0, limit: 500 });
    expect(frame.messages).toEqual((await history(bob.token, chatId, "after=0&limit=500")).messages);
  });

  it("refuses bad history frames with bad_request and keeps the socket", async () => {
    for (const bad of [
      { after: 1, before: 100 },
      { after: -1 },
      { after: "1" },
      { after: 1.5 },
      { before: null },
      { limit: 0 },
      { limit: -1 },
      { limit: "10" },
      { after: 0, extra: true },
    ]) {
      const reply = await socket.request({ type: "history", chatId, ...bad });
      expect(reply, JSON.stringify(bad)).toMatchObject({ type: "error", code: "bad_request" });
    }
    expect((await socket.request({ type: "ping" })).type).toBe("pong");
  });
});

describe("history limit cap", () => {
  it("a limit above 500 counts as 500", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    for (let i = 0; i < 6; i++) await sendMany(a, chatId, 100, `r${i}`);
    for (const limit of [500, 501, 1000, 999_999]) {
      const page = await history(alice.token, chatId, `after=0&limit=${limit}`);
      expect(
        page.messages.map((m) => m.seq),
        `limit=${limit}`,
      ).toEqual(range(1, 500));
      expect(page.more).toBe(true);
      const frame = await a.request({ type: "history", chatId, after: 0, limit });
      expect((frame.messages as Message[]).length).toBe(500);
      expect(frame.more).toBe(true);
    }
    const down = await history(alice.token, chatId, "before=601&limit=10000");
    expect(down.messages.map((m) => m.seq)).toEqual(range(600, 101));
    expect(down.more).toBe(true);
    a.close();
  });
});
