/**
 * Access: everything about a chat is for its members only. A non-member gets 403 `forbidden` on
 * every chat route and an `error` frame `forbidden` for every chat frame, byte for byte the same
 * as for a chat that does not exist, and no answer carries the chat's data. A malformed chat id
 * gets 404 on every route and `bad_request` in every frame.
 */
import { describe, expect, it } from "vitest";
import { directChatId, newGroupChatId } from "../protocol";
import { messageBarrier, pingBarrier } from "./helpers/barrier";
import {
  api,
  connect,
  history,
  openDirect,
  sendMany,
  storedSeqs,
  type TestSocket,
  unique,
  user,
} from "./helpers/client";
import { type Answer, answerOf, rawReply } from "./helpers/wire";

const SECRET = "the-secret-body";

type Route = [method: string, path: string, body: unknown];

/** Every chat route, as [method, path, body]; the member routes name `member` and `outsider`. */
function chatRoutes(chatId: string, member = "zz-member", outsider = "zz-intruder"): Route[] {
  return [
    ["GET", `/v1/chats/${chatId}`, undefined],
    ["GET", `/v1/chats/${chatId}/messages`, undefined],
    ["GET", `/v1/chats/${chatId}/messages?after=0&limit=500`, undefined],
    ["GET", `/v1/chats/${chatId}/messages?before=1000`, undefined],
    ["POST", `/v1/chats/${chatId}/messages`, { clientMsgId: "intruder-1", body: "let me in" }],
    ["GET", `/v1/chats/${chatId}/messages/1/receipts`, undefined],
    ["GET", `/v1/chats/${chatId}/messages/1000/receipts`, undefined],
    ["POST", `/v1/chats/${chatId}/members`, { userId: outsider }],
    ["POST", `/v1/chats/${chatId}/members`, { userId: "zz-intruder", role: "admin" }],
    ["PATCH", `/v1/chats/${chatId}/members/${outsider}`, { role: "admin" }],
    ["PATCH", `/v1/chats/${chatId}/members/${member}`, { role: "member" }],
    ["DELETE", `/v1/chats/${chatId}/members/${member}`, undefined],
    ["DELETE", `/v1/chats/${chatId}/members/${outsider}`, undefined],
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
    { type: "typing", chatId, on: false },
  ];
}

function expectNoLeak(text: string, alice: string, bob: string): void {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(alice);
  expect(text).not.toContain(bob);
}

/** Asserts a JSON error answer with `status` and `code`; answers it. */
async function expectError(res: Response, status: number, code: string, label: string): Promise<Answer> {
  const answer = await answerOf(res);
  expect(answer.status, label).toBe(status);
  expect(answer.headers, label).toContain("content-type: application/json");
  expect(JSON.parse(answer.body), label).toEqual({ error: { code, message: expect.any(String) } });
  return answer;
}

const expectForbidden = async (res: Response, label: string) => (await expectError(res, 403, "forbidden", label)).body;

/** Sends every chat frame and expects `forbidden` for each, then checks the socket still works. */
async function expectRefusedFrames(c: TestSocket, chatId: string, alice: string, bob: string): Promise<void> {
  for (const frame of chatFrames(chatId)) {
    const reply = await c.request(frame);
    expect(reply, JSON.stringify(frame)).toEqual({
      type: "error",
      code: "forbidden",
      message: expect.any(String),
      id: expect.any(String),
    });
    expectNoLeak(JSON.stringify(reply), alice, bob);
  }
  expect((await c.request({ type: "ping" })).type).toBe("pong");
}

/**
 * Waits until whatever the chat could have pushed to `outsider` up to `lastSeq` has arrived.
 * The chat fans out round by round, each round to every member before the next starts: once
 * `member` holds a message sent after it held `lastSeq`, any delivery of `lastSeq` to the
 * outsider's object is over, and the outsider's ping barrier comes back after any frame that
 * delivery pushed to its socket.
 */
async function settleFanout(
  chatId: string,
  lastSeq: number,
  sockets: { sender: TestSocket; member: TestSocket; outsider: TestSocket },
): Promise<void> {
  const { sender, member, outsider } = sockets;
  await member.collect((f) => f.type === "message" && f.chatId === chatId && f.seq === lastSeq, 1);
  await messageBarrier(chatId, sender, [member]);
  await pingBarrier(outsider);
}

/**
 * Waits until a typing indicator relayed by the chat after everything sent so far has reached
 * `watcher`: a refused typing frame wrongly relayed would have come before it, on the same path.
 */
async function settleTyping(chatId: string, typist: { id: string; socket: TestSocket }, watcher: TestSocket) {
  typist.socket.send({ type: "typing", chatId, on: true });
  await watcher.next((f) => f.type === "typing" && f.chatId === chatId && f.userId === typist.id);
}

describe("access", () => {
  it("a non-member gets 403 on every chat route and learns nothing", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    await a.request({ type: "send", chatId, clientMsgId: "s1", body: SECRET });
    await sendMany(a, chatId, 3, SECRET);

    for (const [method, path, body] of chatRoutes(chatId, bob.id, carol.id)) {
      const text = await expectForbidden(await api(carol.token, method, path, body), `${method} ${path}`);
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
    const b = (await connect(bob.token, "phone")).socket;
    await a.request({ type: "send", chatId, clientMsgId: "s1", body: SECRET });
    const c = (await connect(carol.token, "phone")).socket;
    await expectRefusedFrames(c, chatId, alice.id, bob.id);

    // Nothing Carol did reached the chat, and nothing of it reaches her.
    const s2 = await a.request({ type: "send", chatId, clientMsgId: "s2", body: SECRET });
    expect(s2.type).toBe("ack");
    await settleTyping(chatId, { id: bob.id, socket: b }, a);
    await settleFanout(chatId, s2.seq as number, { sender: a, member: b, outsider: c });
    expect(await storedSeqs(chatId)).toEqual([1, 2, 3]);
    for (const f of c.frames) expectNoLeak(JSON.stringify(f), alice.id, bob.id);
    expect(c.all("message")).toEqual([]);
    expect(a.all("typing").filter((f) => f.userId !== bob.id)).toEqual([]);
    const page = await history(alice.token, chatId);
    expect(page.messages.every((m) => m.sender === alice.id)).toBe(true);
    for (const s of [a, b, c]) s.close();
  });

  it("a chat id that names two other users cannot be created or opened by a third", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    // The chat does not exist yet: Carol must not bring it into being either.
    const chatId = directChatId(alice.id, bob.id);
    for (const [method, path, body] of chatRoutes(chatId, bob.id, carol.id)) {
      await expectForbidden(await api(carol.token, method, path, body), `${method} ${path}`);
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
    const b = (await connect(bob.token, "phone")).socket;
    expect((await a.request({ type: "send", chatId, clientMsgId: "g1", body: SECRET })).type).toBe("ack");
    const before = await storedSeqs(chatId);

    for (const [method, path, body] of [
      ...chatRoutes(chatId, bob.id, carol.id),
      ["DELETE", `/v1/chats/${chatId}/members/${alice.id}`, undefined],
      ["PATCH", `/v1/chats/${chatId}/members/${alice.id}`, { role: "member" }],
    ] as Route[]) {
      const text = await expectForbidden(await api(carol.token, method, path, body), `${method} ${path}`);
      expectNoLeak(text, alice.id, bob.id);
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
    const g2 = await a.request({ type: "send", chatId, clientMsgId: "g2", body: SECRET });
    expect(g2.type).toBe("ack");
    await settleTyping(chatId, { id: bob.id, socket: b }, a);
    await settleFanout(chatId, g2.seq as number, { sender: a, member: b, outsider: c });
    for (const f of c.frames) expectNoLeak(JSON.stringify(f), alice.id, bob.id);
    expect(c.all("message")).toEqual([]);
    expect(a.all("typing").filter((f) => f.userId !== bob.id)).toEqual([]);
    const list = await (await api(carol.token, "GET", "/v1/chats")).text();
    expect(list).not.toContain(chatId);
    for (const s of [a, b, c]) s.close();
  });

  it("a chat that does not exist is refused byte for byte like one the caller is not in", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const direct = await openDirect(alice, bob);
    const created = await api(alice.token, "POST", "/v1/chats", { type: "group", title: SECRET, members: [bob.id] });
    const { chatId: group } = (await created.json()) as { chatId: string };
    const a = (await connect(alice.token, "phone")).socket;
    for (const chatId of [direct, group]) await sendMany(a, chatId, 2, SECRET);
    const c = (await connect(carol.token, "phone")).socket;

    const pairs = [
      { kind: "direct", real: direct, ghost: directChatId(alice.id, unique("nobody")) },
      { kind: "group", real: group, ghost: newGroupChatId() },
    ];
    for (const { kind, real, ghost } of pairs) {
      const realRoutes = chatRoutes(real, bob.id, carol.id);
      const ghostRoutes = chatRoutes(ghost, bob.id, carol.id);
      for (const [i, [method, path, body]] of realRoutes.entries()) {
        const label = `${kind}: ${method} ${path.replace(real, ":chatId")}`;
        const [, ghostPath, ghostBody] = ghostRoutes[i] as Route;
        const ofReal = await expectError(await api(carol.token, method, path, body), 403, "forbidden", label);
        const ofGhost = await answerOf(await api(carol.token, method, ghostPath, ghostBody));
        expect(ofGhost, label).toEqual(ofReal);
      }
      const ghostFrames = chatFrames(ghost);
      for (const [i, frame] of chatFrames(real).entries()) {
        const label = `${kind}: ${JSON.stringify(frame)}`;
        const ofReal = await rawReply(c, frame, `probe-${i}`);
        const ofGhost = await rawReply(c, ghostFrames[i] as Record<string, unknown>, `probe-${i}`);
        expect(ofGhost, label).toBe(ofReal);
        expect(JSON.parse(ofReal), label).toEqual({
          type: "error",
          code: "forbidden",
          message: expect.any(String),
          id: `probe-${i}`,
        });
      }
      expect(await storedSeqs(ghost)).toEqual([]);
    }
    for (const s of [a, c]) s.close();
  });

  it("malformed chat ids: the same 404 on every chat route, bad_request for every chat frame", async () => {
    const carol = await user("carol");
    const c = (await connect(carol.token, "phone")).socket;
    const malformed = ["nope", "d~b~a", "d~a", "g~short", "d~a~b~c", "%00", "g~ABCDEFGHIJKLMNOPQRST", "d~a b~c"];
    // The answer of each route to the first malformed id; every other one must get the same.
    const first: Answer[] = [];
    for (const chatId of malformed) {
      for (const [i, [method, path, body]] of chatRoutes(encodeURIComponent(chatId)).entries()) {
        const label = `${method} ${path}`;
        const answer = await expectError(await api(carol.token, method, path, body), 404, "not_found", label);
        first[i] ??= answer;
        expect(answer, label).toEqual(first[i]);
      }
      for (const frame of chatFrames(chatId)) {
        const reply = await c.request(frame);
        expect(reply, JSON.stringify(frame)).toMatchObject({ type: "error", code: "bad_request" });
      }
    }
    c.close();
  });
});

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
