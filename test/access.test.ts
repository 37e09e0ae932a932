/**
 * Access: everything about a chat is for its members only. A non-member gets 403/404 on every
 * chat route and an `error` frame for every chat frame, and no answer carries the chat's data.
 */
import { describe, expect, it } from "vitest";
import { directChatId } from "../protocol";
import { api, connect, history, openDirect, sendMany, storedSeqs, type TestSocket, user } from "./helpers/client";

const SECRET = "the-secret-body";

/** Every chat route, as [method, path, body]. */
function chatRoutes(chatId: string): [string, string, unknown][] {
  return [
    ["GET", `/v1/chats/${chatId}`, undefined],
    ["GET", `/v1/chats/${chatId}/messages`, undefined],
    ["GET", `/v1/chats/${chatId}/messages?after=0&limit=500`, undefined],
    ["GET", `/v1/chats/${chatId}/messages?before=1000`, undefined],
    ["POST", `/v1/chats/${chatId}/messages`, { clientMsgId: "intruder-1", body: "let me in" }],
    ["GET", `/v1/chats/${chatId}/messages/1/receipts`, undefined],
    ["POST", `/v1/chats/${chatId}/members`, { userId: "zz-intruder" }],
    ["PATCH", `/v1/chats/${chatId}/members/zz-intruder`, { role: "admin" }],
    ["DELETE", `/v1/chats/${chatId}/members/zz-intruder`, undefined],
  ];
}

/** Every chat frame a client can send. */
function chatFrames(chatId: string): Record<string, unknown>[] {
  return [
    { type: "send", chatId, clientMsgId: "intruder-2", body: "let me in" },
    { type: "history", chatId, after: 0 },
    { type: "history", chatId, before: 1000, limit: 500 },
    { type: "received", chatId, seq: 1 },
    { type: "read", chatId, seq: 1 },
    { type: "typing", chatId, on: true },
  ];
}

function expectNoLeak(text: string, alice: string, bob: string): void {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(alice);
  expect(text).not.toContain(bob);
}

describe("access", () => {
  it("a non-member gets 403/404 on every chat route and learns nothing", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    await a.request({ type: "send", chatId, clientMsgId: "s1", body: SECRET });
    await sendMany(a, chatId, 3, SECRET);

    for (const [method, path, body] of chatRoutes(chatId)) {
      const res = await api(carol.token, method, path, body);
      expect([403, 404], `${method} ${path}`).toContain(res.status);
      const text = await res.text();
      expect(JSON.parse(text).error.code).toMatch(/^(forbidden|not_found)$/);
      expectNoLeak(text, alice.id, bob.id);
    }
    // Carol's own chat list does not gain the chat either.
    const list = await (await api(carol.token, "GET", "/v1/chats")).text();
    expectNoLeak(list, alice.id, bob.id);
    expect(await storedSeqs(chatId)).toEqual([1, 2, 3, 4]);
    a.close();
  });

  it("a non-member gets an error frame for every chat frame and no pushes", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    await a.request({ type: "send", chatId, clientMsgId: "s1", body: SECRET });
    const c = (await connect(carol.token, "phone")).socket;
    await expectRefusedFrames(c, chatId, alice.id, bob.id);

    // Nothing Carol did reached the chat, and nothing of it reaches her.
    await a.request({ type: "send", chatId, clientMsgId: "s2", body: SECRET });
    await new Promise((r) => setTimeout(r, 150));
    expect(await storedSeqs(chatId)).toEqual([1, 2]);
    for (const f of c.frames) expectNoLeak(JSON.stringify(f), alice.id, bob.id);
    expect(c.all("message")).toHaveLength(0);
    expect(a.all("typing")).toHaveLength(0);
    const page = await history(alice.token, chatId);
    expect(page.messages.every((m) => m.sender === alice.id)).toBe(true);
    for (const s of [a, c]) s.close();
  });

  it("a chat id that names two other users cannot be created or opened by a third", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    // The chat does not exist yet: Carol must not bring it into being either.
    const chatId = directChatId(alice.id, bob.id);
    for (const [method, path, body] of chatRoutes(chatId)) {
      const res = await api(carol.token, method, path, body);
      expect([403, 404], `${method} ${path}`).toContain(res.status);
    }
    const c = (await connect(carol.token, "phone")).socket;
    await expectRefusedFrames(c, chatId, alice.id, bob.id);
    expect(await storedSeqs(chatId)).toEqual([]);
    // Alice and Bob find their chat empty and theirs alone.
    await openDirect(alice, bob);
    const view = await (await api(bob.token, "GET", `/v1/chats/${chatId}`)).json();
    expect(view).toMatchObject({ members: expect.arrayContaining([expect.objectContaining({ userId: alice.id })]) });
    expect((view as { members: unknown[] }).members).toHaveLength(2);
    expect((await history(alice.token, chatId)).messages).toEqual([]);
    c.close();
  });

  it("a group's outsiders learn nothing of it: not its members, title or messages", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const res = await api(alice.token, "POST", "/v1/chats", { type: "group", title: SECRET, members: [bob.id] });
    expect(res.status).toBe(201);
    const { chatId } = (await res.json()) as { chatId: string };
    const a = (await connect(alice.token, "phone")).socket;
    expect((await a.request({ type: "send", chatId, clientMsgId: "g1", body: SECRET })).type).toBe("ack");
    const before = await storedSeqs(chatId);

    for (const [method, path, body] of [
      ...chatRoutes(chatId),
      ["POST", `/v1/chats/${chatId}/members`, { userId: carol.id }],
      ["PATCH", `/v1/chats/${chatId}/members/${carol.id}`, { role: "admin" }],
      ["DELETE", `/v1/chats/${chatId}/members/${carol.id}`, undefined],
      ["DELETE", `/v1/chats/${chatId}/members/${bob.id}`, undefined],
    ] as [string, string, unknown][]) {
      const r = await api(carol.token, method, path, body);
      expect([403, 404], `${method} ${path}`).toContain(r.status);
      expectNoLeak(await r.text(), alice.id, bob.id);
    }
    const c = (await connect(carol.token, "phone")).socket;
    await expectRefusedFrames(c, chatId, alice.id, bob.id);
    for (const who of [alice.id, bob.id]) {
      const r = await api(carol.token, "GET", `/v1/users/${who}/presence`);
      expect(r.status, `presence of ${who}`).toBe(403);
    }
    expect(await storedSeqs(chatId)).toEqual(before);
    const view = (await (await api(alice.token, "GET", `/v1/chats/${chatId}`)).json()) as { members: unknown[] };
    expect(view.members).toHaveLength(2);
    await a.request({ type: "send", chatId, clientMsgId: "g2", body: SECRET });
    await new Promise((r) => setTimeout(r, 150));
    for (const f of c.frames) expectNoLeak(JSON.stringify(f), alice.id, bob.id);
    const list = await (await api(carol.token, "GET", "/v1/chats")).text();
    expect(list).not.toContain(chatId);
    for (const s of [a, c]) s.close();
  });

  it("unknown and malformed chat ids are refused the same way", async () => {
    const carol = await user("carol");
    const c = (await connect(carol.token, "phone")).socket;
    for (const chatId of ["g~abcdefghijklmnopqrst", "d~zz-nobody~zz-other"]) {
      for (const [method, path, body] of chatRoutes(chatId)) {
        const res = await api(carol.token, method, path, body);
        expect([403, 404], `${method} ${path}`).toContain(res.status);
      }
      for (const frame of chatFrames(chatId)) {
        const reply = await c.request(frame);
        expect(reply.type, JSON.stringify(frame)).toBe("error");
      }
    }
    for (const chatId of ["nope", "d~b~a", "d~a", "g~short", "d~a~b~c", "%00"]) {
      for (const [method, path, body] of chatRoutes(encodeURIComponent(chatId))) {
        const res = await api(carol.token, method, path, body);
        expect([400, 403, 404], `${method} ${path}`).toContain(res.status);
      }
    }
    c.close();
  });
});

/** Sends every chat frame and expects a refusal for each, then checks the socket still works. */
async function expectRefusedFrames(c: TestSocket, chatId: string, alice: string, bob: string): Promise<void> {
  for (const frame of chatFrames(chatId)) {
    const reply = await c.request(frame);
    expect(reply.type, JSON.stringify(frame)).toBe("error");
    expect(reply.code, JSON.stringify(frame)).toMatch(/^(forbidden|not_found)$/);
    expectNoLeak(JSON.stringify(reply), alice, bob);
  }
  expect((await c.request({ type: "ping" })).type).toBe("pong");
}

describe("probing chat ids", () => {
  it("leaves no storage behind in chat objects an outsider names", async () => {
    const { env } = await import("cloudflare:workers");
    const { runInDurableObject } = await import("cloudflare:test");
    const stranger = await user("stranger");
    const ids = [`d~${stranger.id}x~zz-someone`, "g~abcdefghijklmnopqrst"];
    for (const chatId of ids) {
      expect((await api(stranger.token, "GET", `/v1/chats/${chatId}/messages`)).status).toBe(403);
      const size = await runInDurableObject(env.CHAT.get(env.CHAT.idFromName(chatId)), (_i, state) =>
        state.storage.sql
          .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'")
          .toArray(),
      );
      expect(size).toEqual([]);
    }
  });
});
