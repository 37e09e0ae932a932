/**
 * Message info (`GET /v1/chats/:chatId/messages/:seq/receipts`): exactly who holds and who has
 * read a message, for its sender and, in groups, for admins; refused to everyone else.
 */
import { describe, expect, it } from "vitest";
import { api, connect, json, openDirect } from "./helpers/client";
import { createGroup, pollUntil, type User, users } from "./helpers/groups";

type Info = { seq: number; delivered: string[]; read: string[] };

const sorted = (...ids: string[]) => [...ids].sort();

const infoRes = (who: User, chatId: string, seq: number | string) =>
  api(who.token, "GET", `/v1/chats/${chatId}/messages/${seq}/receipts`);

async function info(who: User, chatId: string, seq: number): Promise<Info> {
  const res = await infoRes(who, chatId, seq);
  if (res.status !== 200) throw new Error(`message info: ${res.status} ${await res.text()}`);
  return json<Info>(res);
}

/** Polls the route as `who` until it answers `expected`; receipts reach the chat asynchronously. */
function infoReaches(who: User, chatId: string, expected: Info): Promise<Info> {
  const same = (a: Info) => JSON.stringify(a) === JSON.stringify(expected);
  return pollUntil(() => info(who, chatId, expected.seq), same);
}

async function expectRefused(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  // The refusal carries nothing of the chat: only the error.
  expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
}

describe("message info in a group", () => {
  it("lists exactly who has delivered and who has read, for the sender and for admins", async () => {
    const [alice, bob, carol, dave, erin] = await users("alice", "bob", "carol", "dave", "erin");
    const chatId = await createGroup(alice, "team", [bob.id, carol.id, dave.id, erin.id]);
    const [b, c, d, a] = await Promise.all([
      connect(bob.token, "phone"),
      connect(carol.token, "phone"),
      connect(dave.token, "phone"),
      connect(alice.token, "phone"),
    ]);
    const ack = await b.socket.request({ type: "send", chatId, clientMsgId: "m1", body: "who reads this?" });
    expect(ack).toMatchObject({ type: "ack", seq: 2 });
    expect(await info(bob, chatId, 2)).toEqual({ seq: 2, delivered: [], read: [] });

    await c.socket.next((f) => f.type === "message" && f.seq === 2);
    c.socket.send({ type: "received", chatId, seq: 2 });
    d.socket.send({ type: "read", chatId, seq: 2 });
    const expected = { seq: 2, delivered: sorted(carol.id, dave.id), read: [dave.id] };
    expect(await infoReaches(bob, chatId, expected)).toEqual(expected);
    expect(await info(alice, chatId, 2)).toEqual(expected);

    // A watermark covers everything before it: reading up to a later seq reads seq 2 too.
    await a.socket.request({ type: "send", chatId, clientMsgId: "m2", body: "later" });
    a.socket.send({ type: "read", chatId, seq: 3 });
    const withAlice = { seq: 2, delivered: sorted(alice.id, carol.id, dave.id), read: sorted(alice.id, dave.id) };
    expect(await infoReaches(bob, chatId, withAlice)).toEqual(withAlice);
    // The sender's own devices are not listed; erin, who acknowledged nothing, neither.
    expect(await info(alice, chatId, 3)).toEqual({ seq: 3, delivered: [], read: [] });
    for (const s of [a, b, c, d]) s.socket.close();
  });

  it("refuses members who are neither the sender nor an admin, and strangers, with no data", async () => {
    const [alice, bob, carol, eve] = await users("alice", "bob", "carol", "eve");
    const chatId = await createGroup(alice, "team", [bob.id, carol.id]);
    const send = await api(bob.token, "POST", `/v1/chats/${chatId}/messages`, { clientMsgId: "m1", body: "hi" });
    expect(await send.json()).toMatchObject({ seq: 2 });

    await expectRefused(await infoRes(carol, chatId, 2), 403, "forbidden");
    await expectRefused(await infoRes(carol, chatId, 1), 403, "forbidden");
    await expectRefused(await infoRes(eve, chatId, 2), 403, "forbidden");
    // A stranger learns nothing either from whether a seq exists.
    await expectRefused(await infoRes(eve, chatId, 99), 403, "forbidden");
    // An admin by promotion sees it; demoted again, no more.
    expect((await api(alice.token, "PATCH", `/v1/chats/${chatId}/members/${carol.id}`, { role: "admin" })).status).toBe(
      200,
    );
    expect(await info(carol, chatId, 2)).toEqual({ seq: 2, delivered: [], read: [] });
    expect(
      (await api(alice.token, "PATCH", `/v1/chats/${chatId}/members/${carol.id}`, { role: "member" })).status,
    ).toBe(200);
    await expectRefused(await infoRes(carol, chatId, 2), 403, "forbidden");
    // A removed sender loses it with the rest of the chat.
    expect((await api(alice.token, "DELETE", `/v1/chats/${chatId}/members/${bob.id}`)).status).toBe(200);
    await expectRefused(await infoRes(bob, chatId, 2), 403, "forbidden");
  });

  it("answers 400 for a seq that is not a positive whole number and 404 for one that does not exist", async () => {
    const [alice, bob, eve] = await users("alice", "bob", "eve");
    const chatId = await createGroup(alice, "team", [bob.id]);
    for (const seq of ["abc", "0", "-1", "1.5", "1e3", "0x2", "+1", "%201", "99999999999999999999"]) {
      await expectRefused(await infoRes(alice, chatId, seq), 400, "bad_request");
      await expectRefused(await infoRes(eve, chatId, seq), 400, "bad_request");
    }
    await expectRefused(await infoRes(alice, chatId, 2), 404, "not_found");
    await expectRefused(await infoRes(alice, "g~not-a-chat", 1), 404, "not_found");
    expect(await info(alice, chatId, 1)).toEqual({ seq: 1, delivered: [], read: [] });
  });

  it("leaves out members who joined after the message, and keeps what members who left had", async () => {
    const [alice, bob, carol, dan] = await users("alice", "bob", "carol", "dan");
    const chatId = await createGroup(alice, "team", [bob.id, carol.id]);
    const a = await connect(alice.token, "phone");
    expect(await a.socket.request({ type: "send", chatId, clientMsgId: "m1", body: "hi" })).toMatchObject({ seq: 2 });
    const b = await connect(bob.token, "phone");
    b.socket.send({ type: "read", chatId, seq: 2 });
    await infoReaches(alice, chatId, { seq: 2, delivered: [bob.id], read: [bob.id] });

    expect((await api(alice.token, "DELETE", `/v1/chats/${chatId}/members/${bob.id}`)).status).toBe(200);
    expect((await api(alice.token, "POST", `/v1/chats/${chatId}/members`, { userId: dan.id })).status).toBe(201);
    const d = await connect(dan.token, "phone");
    d.socket.send({ type: "read", chatId, seq: 4 });
    const c = await connect(carol.token, "phone");
    c.socket.send({ type: "received", chatId, seq: 4 });
    const expected = { seq: 2, delivered: sorted(bob.id, carol.id), read: [bob.id] };
    expect(await infoReaches(alice, chatId, expected)).toEqual(expected);
    expect(await info(alice, chatId, 4)).toEqual({ seq: 4, delivered: sorted(carol.id, dan.id), read: [dan.id] });
    for (const s of [a, b, c, d]) s.socket.close();
  });
});

describe("message info in a direct chat", () => {
  it("is for the sender only: the peer is listed, and refused for the sender's message", async () => {
    const [alice, bob, eve] = await users("alice", "bob", "eve");
    const chatId = await openDirect(alice, bob);
    const a = await connect(alice.token, "phone");
    const b = await connect(bob.token, "phone");
    expect(await a.socket.request({ type: "send", chatId, clientMsgId: "m1", body: "hi" })).toMatchObject({ seq: 1 });
    await b.socket.next("message");
    b.socket.send({ type: "received", chatId, seq: 1 });
    await a.socket.next("receipt");
    expect(await info(alice, chatId, 1)).toEqual({ seq: 1, delivered: [bob.id], read: [] });
    b.socket.send({ type: "read", chatId, seq: 1 });
    await infoReaches(alice, chatId, { seq: 1, delivered: [bob.id], read: [bob.id] });
    await expectRefused(await infoRes(bob, chatId, 1), 403, "forbidden");
    await expectRefused(await infoRes(eve, chatId, 1), 403, "forbidden");
    a.socket.close();
    b.socket.close();
  });
});
