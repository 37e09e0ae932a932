/**
 * A group of 10,000 members (MAX_GROUP_MEMBERS=10000 in this test project), three of them
 * connected: creation, add, remove, send, receipts and message info work; the round to every
 * member (the creation) goes through relay objects of at most 512 members, so no event of the
 * chat makes thousands of calls, and later messages, after a restart too, call the connected only. One workerd process cannot open 10,000 user objects' databases (open file
 * limit), so the members who never connect are stood in for (`fakeOfflineMembers`): their calls
 * are answered "parked" as their objects would, without waking them.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RELAY_BATCH } from "../objects/chat/outbound";
import { MAX_GROUP_MEMBERS_CAP, MAX_LISTED_MEMBERS, newGroupChatId } from "../protocol";
import { fakeOfflineMembers } from "./helpers/chat-internals";
import { api, connect, json, tokenFor, unique, user } from "./helpers/client";
import { addMember, chatStub, expectError, fanoutSettled, removeMember, systemAt } from "./helpers/groups";

const SIZE = MAX_GROUP_MEMBERS_CAP;

describe(`a group of ${SIZE} members`, () => {
  it("works end to end; the round to all members is split over relays, later ones reach the online only", async () => {
    const owner = await user("huge-owner");
    const others = Array.from({ length: SIZE - 1 }, () => unique("huge"));
    const online = others.slice(0, 3);
    const real = new Set([owner.id, ...online]);
    const sockets = await Promise.all(online.map(async (id) => (await connect(await tokenFor(id), "phone")).socket));
    const o = (await connect(owner.token, "phone")).socket;

    // Created through the chat's RPC, as the route does, so the stand-ins are in place first.
    const chatId = newGroupChatId();
    const stub = chatStub(chatId);
    const calls = await fakeOfflineMembers(stub, real);
    expect(await stub.createGroup(chatId, owner.id, "ten thousand", others)).toEqual({ ok: true, value: { chatId } });
    expect(await fanoutSettled(chatId)).toEqual([]);
    await Promise.all(sockets.map((s) => s.next((f) => f.type === "message" && f.seq === 1, 60_000)));
    expect(calls.direct).toEqual([]);
    expect(calls.relayed.reduce((a, b) => a + b, 0)).toBe(SIZE);
    expect(Math.max(...calls.relayed)).toBeLessThanOrEqual(RELAY_BATCH);

    // The first message names the first 256 members and counts them all.
    const { event: created } = await systemAt(owner, chatId, 1);
    expect(created).toEqual({
      event: "created",
      actor: owner.id,
      title: "ten thousand",
      members: [owner.id, ...others].slice(0, MAX_LISTED_MEMBERS),
      memberCount: SIZE,
    });

    const extra = unique("extra");
    await expectError(await addMember(owner, chatId, extra), 400, "bad_request");
    expect((await removeMember(owner, chatId, others[SIZE - 2] as string)).status).toBe(200);
    expect((await addMember(owner, chatId, extra)).status).toBe(201);
    expect(await fanoutSettled(chatId)).toEqual([]);

    // Everyone offline has parked: a message costs a call to each connected member only.
    calls.direct.length = 0;
    calls.relayed.length = 0;
    const ack = await o.request({ type: "send", chatId, clientMsgId: "hi", body: "hello, ten thousand" }, 30_000);
    const seq = ack.seq as number;
    await Promise.all(sockets.map((s) => s.next((f) => f.type === "message" && f.seq === seq)));
    expect(await fanoutSettled(chatId)).toEqual([]);
    expect([...calls.direct].sort()).toEqual([...online].sort());
    expect(calls.relayed).toEqual([]);

    // Receipts and message info.
    for (const s of sockets) s.send({ type: "read", chatId, seq });
    let read: string[] = [];
    for (let i = 0; i < 200 && read.length < 3; i++) {
      read = (
        await json<{ read: string[] }>(await api(owner.token, "GET", `/v1/chats/${chatId}/messages/${seq}/receipts`))
      ).read;
    }
    expect(read.sort()).toEqual([...online].sort());

    // After a restart the chat still knows who parked: the next message costs the same three calls.
    await evictDurableObject(stub);
    const again = await fakeOfflineMembers(stub, real);
    const next = await o.request({ type: "send", chatId, clientMsgId: "again", body: "after a restart" }, 30_000);
    expect(next).toMatchObject({ type: "ack", seq: seq + 1 });
    expect(await fanoutSettled(chatId)).toEqual([]);
    expect([...again.direct].sort()).toEqual([...online].sort());
    expect(again.relayed).toEqual([]);
    for (const s of [o, ...sockets]) s.close();
  }, 300_000);
});
