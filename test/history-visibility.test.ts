/**
 * History visibility in groups (v1.1 privacy): a member sees the log from the message that added
 * it, and nothing from while it was out; the rest comes back as hidden runs clipped to the page,
 * over HTTP and the `history` frame. A `shared` group shows everything. Unread, `ready`, message
 * info, group receipts, attachments and pushes follow the same rule.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import backfill from "../migrations/chat/0007_clammy_sabretooth.sql";
import type { ChatObject } from "../objects/chat/chat-object";
import type { Outbound } from "../objects/chat/outbound";
import type { HistoryRow } from "../protocol";
import { api, connect, history, json, type TestSocket, unique } from "./helpers/client";
import {
  addMember,
  chatStub,
  createGroup,
  expectError,
  fanoutSettled,
  removeMember,
  type User,
  users,
} from "./helpers/groups";
import { decryptPush, newSubscriber } from "./helpers/push-service";

const ORIGIN = "http://chat.test";
const namespaces: Record<"USER", DurableObjectNamespace> = env;
const userObject = (id: string) => namespaces.USER.get(namespaces.USER.idFromName(id));

const hidden = (chatId: string, seq: number, through: number) => ({ chatId, seq, kind: "hidden", through });

async function say(u: User, chatId: string, body: string): Promise<number> {
  const res = await api(u.token, "POST", `/v1/chats/${chatId}/messages`, { clientMsgId: unique("m"), body });
  if (res.status !== 200) throw new Error(`send: ${res.status} ${await res.text()}`);
  return (await json<{ seq: number }>(res)).seq;
}

async function sayMany(u: User, chatId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await say(u, chatId, `m${i}`);
}

async function added(by: User, chatId: string, u: User, role?: string): Promise<number> {
  const res = await addMember(by, chatId, u.id, role);
  if (res.status !== 201) throw new Error(`add: ${res.status} ${await res.text()}`);
  return (await json<{ seq: number }>(res)).seq;
}

/** A row as a seq, or `[seq, through]` for a hidden run. */
const shape = (rows: HistoryRow[]) => rows.map((r) => (r.kind === "hidden" ? [r.seq, r.through] : r.seq));

type Page = { rows: (number | number[])[]; more: boolean };

async function httpPage(u: User, chatId: string, query: Record<string, number>): Promise<Page> {
  const qs = Object.entries(query)
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const page = await history(u.token, chatId, qs);
  expect(page.status).toBe(200);
  return { rows: shape(page.messages), more: page.more };
}

async function framePage(socket: TestSocket, chatId: string, query: Record<string, number>): Promise<Page> {
  const page = await socket.request({ type: "history", chatId, ...query });
  if (page.type !== "history") throw new Error(JSON.stringify(page));
  return { rows: shape(page.messages), more: page.more };
}

/** A group of alice (admin) and bob where `carol` is in for 12..16 and again from 21: seqs 1..23. */
async function twoStretches(): Promise<{ chatId: string; alice: User; bob: User; carol: User }> {
  const [alice, bob, carol] = await users("alice", "bob", "carol");
  const chatId = await createGroup(alice, "stretches", [bob.id]);
  await sayMany(alice, chatId, 10);
  expect(await added(alice, chatId, carol)).toBe(12);
  await sayMany(bob, chatId, 3);
  expect((await removeMember(alice, chatId, carol.id)).status).toBe(200);
  await sayMany(alice, chatId, 4);
  expect(await added(alice, chatId, carol)).toBe(21);
  await sayMany(bob, chatId, 2);
  return { chatId, alice, bob, carol };
}

describe("history visibility", () => {
  it("a member added later sees its `added` message on; what came before is one hidden run", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const chatId = await createGroup(alice, "later", [bob.id]);
    await sayMany(alice, chatId, 3);
    expect(await added(alice, chatId, carol)).toBe(5);
    await say(bob, chatId, "after carol came");
    const c = (await connect(carol.token, "phone")).socket;
    const readers: ((q: Record<string, number>) => Promise<Page>)[] = [
      (q) => httpPage(carol, chatId, q),
      (q) => framePage(c, chatId, q),
    ];
    for (const read of readers) {
      expect(await read({ after: 0 })).toEqual({ rows: [[1, 4], 5, 6], more: false });
      expect(await read({ before: 7 })).toEqual({ rows: [6, 5, [1, 4]], more: false });
    }
    const page = await history(carol.token, chatId, "after=0");
    expect(page.messages[0]).toEqual(hidden(chatId, 1, 4));
    expect(page.messages[1]).toMatchObject({ seq: 5, kind: "system", sender: alice.id });
    // A founding member sees everything from the `created` message on.
    expect(await httpPage(bob, chatId, { after: 0 })).toEqual({ rows: [1, 2, 3, 4, 5, 6], more: false });
    c.close();
  });

  it("removed and re-added: both stretches, the `removed` message included, a hidden run between", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const chatId = await createGroup(alice, "back", [bob.id, carol.id]);
    await say(alice, chatId, "while carol is in");
    expect((await removeMember(alice, chatId, carol.id)).status).toBe(200);
    await sayMany(bob, chatId, 2);
    expect(await added(alice, chatId, carol)).toBe(6);
    await say(alice, chatId, "welcome back");
    const page = await history(carol.token, chatId, "after=0");
    expect(page.messages).toMatchObject([
      { seq: 1, kind: "system" },
      { seq: 2, kind: "text", body: "while carol is in" },
      { seq: 3, kind: "system", body: expect.stringContaining('"removed"') },
      hidden(chatId, 4, 5),
      { seq: 6, kind: "system", body: expect.stringContaining('"added"') },
      { seq: 7, kind: "text", body: "welcome back" },
    ]);
    expect(page.more).toBe(false);
    // Naming a hidden message in a reply is refused as if it were not there.
    const reply = await api(carol.token, "POST", `/v1/chats/${chatId}/messages`, {
      clientMsgId: unique("r"),
      body: "re",
      replyTo: 4,
    });
    await expectError(reply, 404, "not_found");
  });

  it("a member added as admin follows the same rule; it gets no message info of what it cannot see", async () => {
    const [alice, bob, dave] = await users("alice", "bob", "dave");
    const chatId = await createGroup(alice, "admins", [bob.id]);
    const before = await say(bob, chatId, "before dave");
    expect(await added(alice, chatId, dave, "admin")).toBe(3);
    const after = await say(bob, chatId, "after dave");
    const page = await history(dave.token, chatId, "after=0");
    expect(page.messages).toMatchObject([
      hidden(chatId, 1, 2),
      { seq: 3, body: expect.stringContaining('"added"') },
      { seq: 4, body: expect.stringContaining('"promoted"') },
      { seq: after, body: "after dave" },
    ]);
    await expectError(
      await api(dave.token, "GET", `/v1/chats/${chatId}/messages/${before}/receipts`),
      404,
      "not_found",
    );
    expect((await api(dave.token, "GET", `/v1/chats/${chatId}/messages/${after}/receipts`)).status).toBe(200);
    expect((await api(alice.token, "GET", `/v1/chats/${chatId}/messages/${before}/receipts`)).status).toBe(200);
  });

  it('a "shared" group shows new and re-added members the whole log', async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const res = await api(alice.token, "POST", "/v1/chats", {
      type: "group",
      title: "open book",
      members: [bob.id],
      history: "shared",
    });
    expect(res.status).toBe(201);
    const { chatId } = await json<{ chatId: string }>(res);
    const first = await say(bob, chatId, "before carol");
    expect(await added(alice, chatId, carol)).toBe(3);
    expect((await removeMember(alice, chatId, carol.id)).status).toBe(200);
    await say(bob, chatId, "while carol is out");
    expect(await added(alice, chatId, carol, "admin")).toBe(6);
    expect(await httpPage(carol, chatId, { after: 0 })).toEqual({ rows: [1, 2, 3, 4, 5, 6, 7], more: false });
    expect((await api(carol.token, "GET", `/v1/chats/${chatId}/messages/${first}/receipts`)).status).toBe(200);
  });

  it("pages in both directions clip hidden runs to the page; paging to the end never loops", async () => {
    const { chatId, carol } = await twoStretches();
    const c = (await connect(carol.token, "phone")).socket;
    const cases: [Record<string, number>, Page][] = [
      [
        { after: 0, limit: 3 },
        { rows: [[1, 11], 12, 13], more: true },
      ],
      [
        { after: 5, limit: 1 },
        { rows: [[6, 11]], more: true },
      ],
      [
        { after: 13, limit: 3 },
        { rows: [14, 15, 16], more: true },
      ],
      [
        { after: 16, limit: 2 },
        { rows: [[17, 20], 21], more: true },
      ],
      [
        { after: 18, limit: 50 },
        { rows: [[19, 20], 21, 22, 23], more: false },
      ],
      [
        { after: 20, limit: 3 },
        { rows: [21, 22, 23], more: false },
      ],
      [{ after: 23 }, { rows: [], more: false }],
      [
        { before: 24, limit: 3 },
        { rows: [23, 22, 21], more: true },
      ],
      [
        { before: 21, limit: 2 },
        { rows: [[17, 20], 16], more: true },
      ],
      [
        { before: 19, limit: 5 },
        { rows: [[17, 18], 16, 15, 14, 13], more: true },
      ],
      [{ before: 12 }, { rows: [[1, 11]], more: false }],
      [
        { before: 12, limit: 1 },
        { rows: [[1, 11]], more: false },
      ],
      [
        { before: 8, limit: 1 },
        { rows: [[1, 7]], more: false },
      ],
      [
        { before: 1_000, limit: 1 },
        { rows: [23], more: true },
      ],
    ];
    for (const [query, want] of cases) {
      expect(await httpPage(carol, chatId, query), JSON.stringify(query)).toEqual(want);
      expect(await framePage(c, chatId, query), JSON.stringify(query)).toEqual(want);
    }
    // Paging by twos covers every seq once, in both directions, and ends.
    const covered = (rows: (number | number[])[]) => rows.flatMap((r) => (Array.isArray(r) ? [r[0], r[1]] : [r, r]));
    const seen: number[] = [];
    let cursor = 0;
    for (let pages = 0; pages < 30; pages++) {
      const page = await framePage(c, chatId, { after: cursor, limit: 2 });
      const ends = covered(page.rows);
      for (let i = 0; i < ends.length; i += 2) {
        for (let s = ends[i] as number; s <= (ends[i + 1] as number); s++) seen.push(s);
      }
      cursor = seen.at(-1) ?? cursor;
      if (!page.more) break;
    }
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    const down: number[] = [];
    let top = 24;
    for (let pages = 0; pages < 30; pages++) {
      const page = await httpPage(carol, chatId, { before: top, limit: 2 });
      const ends = covered(page.rows);
      for (let i = 0; i < ends.length; i += 2) {
        for (let s = ends[i + 1] as number; s >= (ends[i] as number); s--) down.push(s);
      }
      top = down.at(-1) ?? top;
      if (!page.more) break;
    }
    expect(down).toEqual(Array.from({ length: 23 }, (_, i) => 23 - i));
    c.close();
  });

  it("unread and ready count only what a newly added or re-added member can see", async () => {
    const { chatId, carol } = await twoStretches();
    await fanoutSettled(chatId);
    const { socket, ready } = await connect(carol.token, "phone");
    // Seqs 22 and 23 are the only messages of others it can see since it came back.
    expect(ready.chats).toEqual([expect.objectContaining({ chatId, lastSeq: 23, unread: 2 })]);
    const list = await json<{ chats: { chatId: string; unread: number }[] }>(
      await api(carol.token, "GET", "/v1/chats"),
    );
    expect(list.chats).toEqual([expect.objectContaining({ chatId, unread: 2 })]);
    socket.close();
  });

  it("group receipts count, for each message, only the members who could see it", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const chatId = await createGroup(alice, "ticks", [bob.id]);
    const seq = await say(alice, chatId, "for bob's eyes");
    const carolIn = await added(alice, chatId, carol);
    const chat = chatStub(chatId);
    const ticks = async () => {
      const standing = await chat.lastSeqFor(chatId, alice.id);
      if (!standing.ok) throw new Error(JSON.stringify(standing));
      return standing.value.receipts;
    };
    const readers = async (n: number) =>
      (await json<{ read: string[] }>(await api(alice.token, "GET", `/v1/chats/${chatId}/messages/${n}/receipts`)))
        .read;
    // Carol, who read nothing, does not hold back a message she cannot see.
    await chat.markReceipts(chatId, bob.id, { delivered: seq, read: seq });
    expect((await ticks()).read).toBe(seq);
    // Her read of everything up to now makes nothing newer blue, nor lists her for what she cannot see.
    const next = await say(alice, chatId, "for both");
    await chat.markReceipts(chatId, carol.id, { delivered: next, read: next });
    expect((await ticks()).read).toBe(seq);
    expect(await readers(seq)).toEqual([bob.id]);
    expect(await readers(next)).toEqual([carol.id]);
    expect(carolIn).toBeLessThan(next);
  });

  it("an attachment is fetched only by those who can see its message; one not sent yet only by its uploader", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const chatId = await createGroup(alice, "files", [bob.id]);
    const upload = async (u: User) => {
      const res = await exports.default.fetch(`${ORIGIN}/v1/chats/${chatId}/attachments?name=a.pdf`, {
        method: "POST",
        headers: { Authorization: `Bearer ${u.token}`, "Content-Type": "application/pdf" },
        body: new TextEncoder().encode(`%PDF-1.7\n${"x".repeat(100)}\n%%EOF`),
      });
      expect(res.status).toBe(201);
      return (await json<{ id: string }>(res)).id;
    };
    const download = (u: User, id: string) =>
      exports.default.fetch(`${ORIGIN}/v1/chats/${chatId}/attachments/${id}`, {
        headers: { Authorization: `Bearer ${u.token}` },
      });
    const early = await upload(bob);
    expect((await download(alice, early)).status).toBe(404);
    const own = await download(bob, early);
    expect(own.status).toBe(200);
    await own.arrayBuffer();
    const sent = await api(bob.token, "POST", `/v1/chats/${chatId}/messages`, {
      clientMsgId: unique("f"),
      kind: "attachment",
      body: "",
      attachment: { id: early },
    });
    expect(sent.status).toBe(200);
    await added(alice, chatId, carol);
    expect((await download(carol, early)).status).toBe(404);
    const seen = await download(alice, early);
    expect(seen.status).toBe(200);
    await seen.arrayBuffer();
  });

  it("a re-added member's push is for what it can see, never for what was said while it was out", async () => {
    const [alice, bob] = await users("alice", "bob");
    const sub = await newSubscriber();
    const put = await api(bob.token, "PUT", "/v1/devices/phone/push", {
      endpoint: `https://push.test/${bob.id}/phone`,
      keys: sub.keys,
    });
    expect(put.status).toBe(204);
    const pushed: Uint8Array[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      if (!req.url.startsWith("https://push.test/")) return realFetch(input, init);
      pushed.push(new Uint8Array(await req.arrayBuffer()));
      return new Response(null, { status: 201 });
    };
    try {
      const chatId = await createGroup(alice, "push", [bob.id]);
      // Alice online: the chat keeps delivering to her object, so rounds go out while bob is out.
      const a = (await connect(alice.token, "phone")).socket;
      expect((await removeMember(alice, chatId, bob.id)).status).toBe(200);
      await fanoutSettled(chatId);
      // Hold the next round in flight, so that a message sent while bob is out and his `added`
      // message go out together in the round after it.
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      await runInDurableObject(chatStub(chatId), (chat: ChatObject) => {
        const outbound = (chat as unknown as { outbound: Outbound }).outbound;
        const real = outbound.deliver;
        outbound.deliver = async (userId, delivery) => {
          outbound.deliver = real;
          await gate;
          return real(userId, delivery);
        };
      });
      await say(alice, chatId, "held");
      await say(alice, chatId, "said while bob is out");
      await added(alice, chatId, bob);
      release();
      expect(await fanoutSettled(chatId)).toEqual([]);
      await sendDuePushes(bob.id);
      expect(pushed).toEqual([]);
      await say(alice, chatId, "welcome back");
      await fanoutSettled(chatId);
      await runDurableObjectAlarm(chatStub(chatId));
      await sendDuePushes(bob.id);
      expect(pushed).toHaveLength(1);
      const { text } = await decryptPush(sub, pushed[0] as Uint8Array);
      expect(JSON.parse(text)).toMatchObject({ chatId, body: "welcome back" });
      a.close();
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  it("a group from before this rule keeps showing its members everything (the migration's backfill)", async () => {
    const [alice, bob, carol, dave] = await users("alice", "bob", "carol", "dave");
    const chatId = await createGroup(alice, "old", [bob.id]);
    await say(alice, chatId, "said early");
    expect(await added(alice, chatId, carol)).toBe(3);
    await say(alice, chatId, "said later");
    expect((await removeMember(alice, chatId, bob.id)).status).toBe(200);
    // As the object stood before migration 0007: no stretches; then the migration's backfill.
    await runInDurableObject(chatStub(chatId), (_i, state) => {
      state.storage.sql.exec("DELETE FROM member_stretches");
      const statements = backfill.split("--> statement-breakpoint").map((t) => t.replace(/^--.*$/gm, "").trim());
      for (const sql of statements.filter((t) => t.startsWith("INSERT"))) state.storage.sql.exec(sql);
    });
    // The object loaded before the rewrite: it reads stretches from storage on every call.
    expect(await added(alice, chatId, bob)).toBe(6);
    expect(await added(alice, chatId, dave)).toBe(7);
    await say(alice, chatId, "after the upgrade");
    const all = [1, 2, 3, 4, 5, 6, 7, 8];
    expect(await httpPage(carol, chatId, { after: 0 })).toEqual({ rows: all, more: false });
    expect(await httpPage(bob, chatId, { after: 0 })).toEqual({ rows: all, more: false });
    expect(await httpPage(dave, chatId, { after: 0 })).toEqual({ rows: [[1, 6], 7, 8], more: false });
  });

  it('a bad "history" value is refused with 400 bad_request', async () => {
    const [alice] = await users("alice");
    for (const history of ["all", "", 1, null]) {
      const res = await api(alice.token, "POST", "/v1/chats", { type: "group", title: "bad", history });
      await expectError(res, 400, "bad_request");
    }
  });
});

/** Runs the user object's alarm as if every waiting push were due now. */
async function sendDuePushes(userId: string): Promise<void> {
  await runInDurableObject(userObject(userId), (_i, state) => {
    state.storage.sql.exec("UPDATE push_pending SET due_at = 0 WHERE payload IS NOT NULL");
  });
  await runDurableObjectAlarm(userObject(userId));
}
