/**
 * A user's data (issue 18): `GET /v1/me/export` streams what is kept of the user and the
 * messages it sent, and nothing of anyone else's; `DELETE /v1/me` leaves its groups, erases its
 * object and closes its sockets, and its next connect starts empty. Both need a token issued
 * within the last 5 minutes.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SENT_PAGE_LIMIT } from "../objects/chat/sent-by";
import { ERASED_CLOSE_CODE } from "../objects/user/erase";
import {
  api,
  connect,
  forgeToken,
  history,
  json,
  openDirect,
  sendMany,
  type TestSocket,
  unique,
} from "./helpers/client";
import { createGroup, eventOf, expectError, fanoutSettled, membersOf, type User, users } from "./helpers/groups";
import { pngBytes } from "./helpers/png";
import { newSubscriber } from "./helpers/push-service";

const ORIGIN = "http://chat.test";
const PNG = pngBytes(100);
const namespaces: Record<"USER", DurableObjectNamespace> = env;
const userObject = (id: string) => namespaces.USER.get(namespaces.USER.idFromName(id));

interface Exported {
  userId: string;
  exportedAt: string;
  settings: { lastSeen: string; readReceipts: boolean };
  blocks: string[];
  mutes: { chatId: string; until: number | null }[];
  pushSubscriptions: Record<string, unknown>[];
  chats: {
    chatId: string;
    type: string;
    title: string | null;
    member: boolean;
    messages: { seq: number; kind: string; body: string; target?: number; attachment?: { id: string } }[];
  }[];
}

let pushes: string[] = [];
const realFetch = globalThis.fetch;
beforeEach(() => {
  pushes = [];
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!req.url.startsWith("https://push.test/")) return realFetch(input, init);
    pushes.push(req.url);
    return new Response(null, { status: 201 });
  };
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

async function send(socket: TestSocket, chatId: string, fields: Record<string, unknown>): Promise<number> {
  const ack = await socket.request({ type: "send", chatId, clientMsgId: unique("m"), body: "", ...fields });
  if (ack.type !== "ack") throw new Error(JSON.stringify(ack));
  return ack.seq as number;
}

async function subscribe(u: User, deviceId: string): Promise<void> {
  const sub = await newSubscriber();
  const res = await api(u.token, "PUT", `/v1/devices/${deviceId}/push`, {
    endpoint: `https://push.test/${u.id}/${deviceId}`,
    keys: sub.keys,
  });
  expect(res.status).toBe(204);
}

/** A token issued `ageS` seconds ago (valid for an hour from then), signed as the dev tokens are. */
function tokenAged(userId: string, ageS: number): Promise<string> {
  const iat = Math.floor(Date.now() / 1000) - ageS;
  return forgeToken({ sub: userId, iat, exp: iat + 3600 });
}

/** Reads an export as the client does, chunk by chunk; answers the chunks' count and the parsed body. */
async function readExport(res: Response): Promise<{ chunks: number; text: string; body: Exported }> {
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  let chunks = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks += 1;
    text += decoder.decode(value, { stream: true });
  }
  return { chunks, text, body: JSON.parse(text) as Exported };
}

describe("export", () => {
  it("holds the user's chats, settings, blocks, subscriptions and sent messages, and nothing of the peer's", async () => {
    const [alice, bob, carol, dave] = await users("alice", "bob", "carol", "dave");
    const direct = await openDirect(alice, bob);
    const group = await createGroup(alice, "the team", [bob.id, carol.id]);
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    const hello = await send(a, direct, { body: "ALICE-hello" });
    await send(a, direct, { kind: "edit", target: hello, body: "ALICE-hello edited" });
    const up = await exports.default.fetch(`${ORIGIN}/v1/chats/${direct}/attachments?name=me.png`, {
      method: "POST",
      headers: { Authorization: `Bearer ${alice.token}`, "Content-Type": "image/png" },
      body: PNG,
    });
    const file = await json<{ id: string }>(up);
    const photo = await send(a, direct, { kind: "attachment", attachment: { id: file.id }, body: "ALICE-caption" });
    await send(a, group, { body: "ALICE-in-group" });
    const bobs = await send(b, direct, { body: "BOB-private" });
    await send(b, group, { body: "BOB-in-group" });
    await send(b, direct, { kind: "reaction", target: hello, body: "🎉" });
    await send(a, direct, { kind: "reaction", target: bobs, body: "👍" });
    await api(bob.token, "PATCH", "/v1/me/settings", { lastSeen: "nobody" });
    await api(alice.token, "PATCH", "/v1/me/settings", { readReceipts: false });
    expect((await api(alice.token, "PUT", `/v1/users/${dave.id}/block`)).status).toBe(204);
    await api(alice.token, "PUT", `/v1/chats/${group}/mute`, { until: null });
    await subscribe(alice, "phone");
    await subscribe(bob, "phone");

    const { chunks, text, body } = await readExport(await api(alice.token, "GET", "/v1/me/export"));
    // Written chat by chat: the head, each chat's opening, pages and closing, the end.
    expect(chunks).toBeGreaterThanOrEqual(6);
    expect(body.userId).toBe(alice.id);
    expect(Date.parse(body.exportedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(body.settings).toEqual({ lastSeen: "chats", readReceipts: false });
    expect(body.blocks).toEqual([dave.id]);
    expect(body.mutes).toEqual([{ chatId: group, until: null }]);
    // The device's endpoint, not the keys that encrypt pushes to it.
    expect(body.pushSubscriptions).toEqual([
      { deviceId: "phone", endpoint: `https://push.test/${alice.id}/phone`, createdAt: expect.any(Number) },
    ]);
    const byId = Object.fromEntries(body.chats.map((c) => [c.chatId, c]));
    expect(Object.keys(byId).sort()).toEqual([direct, group].sort());
    expect(byId[direct]?.messages).toEqual([
      expect.objectContaining({ seq: hello, kind: "text", body: "ALICE-hello edited" }),
      expect.objectContaining({ kind: "edit", target: hello, body: "ALICE-hello edited" }),
      expect.objectContaining({
        seq: photo,
        kind: "attachment",
        body: "ALICE-caption",
        attachment: { id: file.id, size: PNG.byteLength, contentType: "image/png", name: "me.png" },
      }),
      expect.objectContaining({ kind: "reaction", target: bobs, body: "👍" }),
    ]);
    expect(byId[group]).toMatchObject({ type: "group", title: "the team", member: true });
    expect(byId[group]?.messages.map((m) => m.body)).toEqual(["ALICE-in-group"]);
    // Nothing of the peer's: its messages, its reaction, its settings, its subscription.
    for (const theirs of ["BOB-private", "BOB-in-group", "🎉", "nobody", `push.test/${bob.id}`, "p256dh", 'auth"']) {
      expect(text).not.toContain(theirs);
    }
    a.close();
    b.close();
  });

  it("pages through a chat of hundreds of the user's messages, in order", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    // More than a page (SENT_PAGE_LIMIT) of them.
    const acks = await sendMany(a, chatId, SENT_PAGE_LIMIT + 50, "bulk");
    const { body } = await readExport(await api(alice.token, "GET", "/v1/me/export"));
    const seqs = body.chats[0]?.messages.map((m) => m.seq);
    expect(seqs).toEqual(acks.map((ack) => ack.seq));
    a.close();
  });

  it("reads a chat's own messages of one sender a page at a time", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    for (let i = 0; i < 3; i++) {
      await send(a, chatId, { body: `a${i}` });
      await send(b, chatId, { body: `b${i}` });
    }
    const stub = env.CHAT.get(env.CHAT.idFromName(chatId));
    const first = await stub.sentBy(chatId, alice.id, 0, 2);
    expect(first).toEqual({
      ok: true,
      value: {
        messages: [expect.objectContaining({ body: "a0" }), expect.objectContaining({ body: "a1" })],
        more: true,
      },
    });
    const rest = await stub.sentBy(chatId, alice.id, first.ok ? (first.value.messages.at(-1)?.seq ?? 0) : 0, 2);
    expect(rest).toEqual({ ok: true, value: { messages: [expect.objectContaining({ body: "a2" })], more: false } });
    a.close();
    b.close();
  });
});

function directIdWith(a: User, b: User): string {
  return a.id < b.id ? `d~${a.id}~${b.id}` : `d~${b.id}~${a.id}`;
}

describe("recent sign-in", () => {
  it("refuses export and deletion with a token older than 5 minutes or without iat, and changes nothing", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    const old = await tokenAged(alice.id, 5 * 60 + 5);
    const noIat = await forgeToken({ sub: alice.id, exp: Math.floor(Date.now() / 1000) + 3600 });
    for (const token of [old, noIat]) {
      await expectError(await api(token, "GET", "/v1/me/export"), 401, "unauthorized");
      await expectError(await api(token, "DELETE", "/v1/me"), 401, "unauthorized");
      // The same token is good for everything else.
      expect((await api(token, "GET", "/v1/me/settings")).status).toBe(200);
    }
    // Nothing was erased: the chat is still listed and the socket still open.
    const listed = await json<{ chats: { chatId: string }[] }>(await api(alice.token, "GET", "/v1/chats"));
    expect(listed.chats.map((c) => c.chatId)).toEqual([chatId]);
    expect(a.closed).toBeNull();
    // A token a little under 5 minutes old is recent enough.
    expect((await api(await tokenAged(alice.id, 4 * 60 + 50), "GET", "/v1/me/export")).status).toBe(200);
    a.close();
  });
});

describe("delete", () => {
  it("leaves every group, closes the sockets, erases the object, and keeps the others' view of what it sent", async () => {
    const [alice, bob, carol, dave] = await users("alice", "bob", "carol", "dave");
    const direct = await openDirect(alice, bob);
    const team = await createGroup(alice, "team", [bob.id, carol.id]);
    const club = await createGroup(bob, "club", [alice.id]);
    const phone = (await connect(alice.token, "phone")).socket;
    const laptop = (await connect(alice.token, "laptop")).socket;
    const said = await send(phone, direct, { body: "ALICE-before" });
    await send(phone, team, { body: "ALICE-team" });
    await api(alice.token, "PATCH", "/v1/me/settings", { lastSeen: "nobody", readReceipts: false });
    expect((await api(alice.token, "PUT", `/v1/users/${dave.id}/block`)).status).toBe(204);
    await api(alice.token, "PUT", `/v1/chats/${team}/mute`, { until: null });
    await subscribe(alice, "phone");

    const res = await api(alice.token, "DELETE", "/v1/me");
    expect(res.status).toBe(204);
    for (const s of [phone, laptop]) expect((await s.waitClosed()).code).toBe(ERASED_CLOSE_CODE);

    // Each group shows that alice left, and has her no more.
    for (const [chatId, reader] of [
      [team, bob],
      [club, bob],
    ] as const) {
      const page = await history(reader.token, chatId, "after=0&limit=500");
      // The last admin leaving makes another member admin, after the `left` message.
      const events = page.messages.filter((m) => m.kind === "system").map((m) => eventOf(m));
      expect(events.filter((e) => e.event === "left")).toEqual([{ event: "left", actor: alice.id }]);
      expect((await membersOf(reader.token, chatId)).map((m) => m.userId)).not.toContain(alice.id);
    }
    // What she sent stays in the others' view, under her id.
    const seen = await history(bob.token, direct, "after=0");
    expect(seen.messages.find((m) => m.seq === said)).toMatchObject({ sender: alice.id, body: "ALICE-before" });
    expect((await history(carol.token, team, "after=0")).messages.map((m) => m.body)).toContain("ALICE-team");
    // The direct chats no longer keep her block or her read receipts off: dave may write to her.
    const d = (await connect(dave.token, "phone")).socket;
    expect(
      await d.request({ type: "send", chatId: directIdWith(alice, dave), clientMsgId: "hi", body: "hi" }),
    ).toMatchObject({
      type: "ack",
    });
    d.close();

    // Her next connect starts empty, but for the one message dave sent since.
    const again = await connect(alice.token, "phone");
    const chats = again.ready.chats as { chatId: string }[];
    expect(chats.map((c) => c.chatId)).toEqual([directIdWith(alice, dave)]);
    expect(await json(await api(alice.token, "GET", "/v1/me/settings"))).toEqual({
      lastSeen: "chats",
      readReceipts: true,
    });
    expect(await json(await api(alice.token, "GET", "/v1/blocks"))).toEqual({ userIds: [] });
    const exported = (await readExport(await api(alice.token, "GET", "/v1/me/export"))).body;
    expect(exported).toMatchObject({ blocks: [], mutes: [], pushSubscriptions: [] });
    again.socket.close();
    await again.socket.waitClosed();

    // Her subscription is gone: a message while she is offline pushes nothing.
    const b = (await connect(bob.token, "phone")).socket;
    await send(b, direct, { body: "are you there?" });
    expect(await fanoutSettled(direct)).toEqual([]);
    await runInDurableObject(userObject(alice.id), (_i, state) => {
      const rows = state.storage.sql.exec("SELECT count(*) AS n FROM push_subscriptions").one();
      expect(rows.n).toBe(0);
      state.storage.sql.exec("UPDATE push_pending SET due_at = 0");
    });
    await runDurableObjectAlarm(userObject(alice.id));
    expect(pushes).toEqual([]);
    b.close();
  });
});
