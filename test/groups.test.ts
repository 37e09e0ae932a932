/**
 * Group chats: creation and its limits, adding members, and role changes, each a system
 * message in the log with its own access rule; refusals change nothing. Removing and leaving:
 * `group-removal.test.ts`.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_GROUP_MEMBERS, MAX_TITLE_LENGTH } from "../protocol";
import { api, connect, json, openDirect, storedSeqs, unique, user } from "./helpers/client";
import {
  addMember,
  chatsOf,
  createGroup,
  eventOf,
  expectError,
  membersOf,
  messagesOf,
  removeMember,
  setRole,
  systemAt,
  users,
} from "./helpers/groups";

describe("creating a group", () => {
  it("answers 201 and a group id; the creator is its admin; seq 1 is the `created` system message", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const res = await api(alice.token, "POST", "/v1/chats", {
      type: "group",
      title: "  Trip  ",
      members: [bob.id, carol.id, alice.id, bob.id],
    });
    expect(res.status).toBe(201);
    const { chatId } = await json<{ chatId: string }>(res);
    expect(chatId).toMatch(/^g~[a-z0-9]{20}$/);

    expect(await membersOf(bob.token, chatId)).toEqual(
      [
        { userId: alice.id, role: "admin" },
        { userId: bob.id, role: "member" },
        { userId: carol.id, role: "member" },
      ].sort((a, b) => (a.userId < b.userId ? -1 : 1)),
    );
    const created = await systemAt(carol, chatId, 1);
    expect(created).toMatchObject({ chatId, seq: 1, kind: "system", sender: alice.id });
    expect(created.event).toEqual({
      event: "created",
      actor: alice.id,
      title: "Trip",
      members: [alice.id, bob.id, carol.id],
    });
    for (const u of [alice, bob, carol]) {
      const list = await json<{ chats: unknown[] }>(await api(u.token, "GET", "/v1/chats"));
      expect(list.chats).toContainEqual({
        chatId,
        type: "group",
        title: "Trip",
        lastSeq: 1,
        readSeq: 0,
        unread: 0,
        receipts: { delivered: 0, read: 0 },
      });
    }
  });

  it(`refuses a title that is missing, blank or over ${MAX_TITLE_LENGTH} characters, and creates nothing`, async () => {
    const [alice, bob] = await users("alice", "bob");
    for (const title of ["", "   ", "x".repeat(MAX_TITLE_LENGTH + 1), 42, undefined]) {
      const res = await api(alice.token, "POST", "/v1/chats", { type: "group", title, members: [bob.id] });
      await expectError(res, 400, "bad_request");
    }
    expect(await chatsOf(alice.id)).toEqual([]);
    expect(await chatsOf(bob.id)).toEqual([]);
    const longest = await createGroup(alice, "y".repeat(MAX_TITLE_LENGTH), [bob.id]);
    expect((await chatsOf(bob.id)).map((c) => c.chatId)).toEqual([longest]);
  });

  it(`refuses more than ${DEFAULT_MAX_GROUP_MEMBERS} members with the creator, and creates nothing`, async () => {
    const alice = await user("alice");
    const asked = Array.from({ length: DEFAULT_MAX_GROUP_MEMBERS }, () => unique("crowd"));
    const res = await api(alice.token, "POST", "/v1/chats", { type: "group", title: "crowd", members: asked });
    await expectError(res, 400, "bad_request");
    // No inbox anywhere knows of a chat: the creator's, and a sample of those asked for.
    expect(await chatsOf(alice.id)).toEqual([]);
    for (const userId of asked.filter((_, i) => i % 64 === 0)) expect(await chatsOf(userId)).toEqual([]);
  });

  it("refuses more members in one request than a group holds, and malformed member lists", async () => {
    const alice = await user("alice");
    const tooMany = Array.from({ length: DEFAULT_MAX_GROUP_MEMBERS + 1 }, (_, i) => `m${i}`);
    for (const members of [tooMany, ["not a user id!"], "bob", [42]]) {
      const res = await api(alice.token, "POST", "/v1/chats", { type: "group", title: "t", members });
      await expectError(res, 400, "bad_request");
    }
    expect(await chatsOf(alice.id)).toEqual([]);
  });
});

describe("adding members", () => {
  it("an admin adds a member: a system message of its own, and the new member gets the chat and its history", async () => {
    const [alice, bob, dan] = await users("alice", "bob", "dan");
    const chatId = await createGroup(alice, "team", [bob.id]);
    const b = (await connect(bob.token, "phone")).socket;
    const d = (await connect(dan.token, "phone")).socket;
    await expectError(await api(dan.token, "GET", `/v1/chats/${chatId}`), 403, "forbidden");

    const res = await addMember(alice, chatId, dan.id);
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ seq: 2 });
    const added = await systemAt(dan, chatId, 2);
    expect(added).toMatchObject({ seq: 2, kind: "system", sender: alice.id });
    expect(added.event).toEqual({ event: "added", actor: alice.id, userId: dan.id });
    for (const s of [b, d]) expect(await s.next("message")).toMatchObject({ chatId, seq: 2, kind: "system" });

    expect((await messagesOf(dan.token, chatId)).map((m) => m.seq)).toEqual([1, 2]);
    expect((await json<{ chats: unknown[] }>(await api(dan.token, "GET", "/v1/chats"))).chats).toContainEqual(
      expect.objectContaining({ chatId, type: "group", title: "team", lastSeq: 2 }),
    );
    expect(await d.request({ type: "send", chatId, clientMsgId: "hi", body: "hi all" })).toMatchObject({
      type: "ack",
      seq: 3,
    });
    expect(await b.next("message")).toMatchObject({ seq: 3, sender: dan.id, body: "hi all" });
    b.close();
    d.close();
  });

  it("an admin may add someone as an admin: added, then promoted, in the log", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await createGroup(alice, "team", []);
    expect(await (await addMember(alice, chatId, bob.id, "admin")).json()).toEqual({ seq: 2 });
    expect((await membersOf(bob.token, chatId)).find((m) => m.userId === bob.id)?.role).toBe("admin");
    // The log says so too, so a client that replays it knows every role.
    const events = (await messagesOf(bob.token, chatId)).slice(1).map(eventOf);
    expect(events).toEqual([
      { event: "added", actor: alice.id, userId: bob.id },
      { event: "promoted", actor: alice.id, userId: bob.id },
    ]);
    const carol = await user("carol");
    expect((await addMember(bob, chatId, carol.id)).status).toBe(201);
  });

  it("refuses members and strangers (403), existing members (400) and direct chats (400); nothing changes", async () => {
    const [alice, bob, eve, zed] = await users("alice", "bob", "eve", "zed");
    const chatId = await createGroup(alice, "team", [bob.id]);
    await expectError(await addMember(bob, chatId, zed.id), 403, "forbidden");
    await expectError(await addMember(eve, chatId, zed.id), 403, "forbidden");
    await expectError(await addMember(eve, chatId, eve.id), 403, "forbidden");
    await expectError(await addMember(alice, chatId, bob.id), 400, "bad_request");
    await expectError(await addMember(alice, chatId, "not a user!"), 400, "bad_request");
    expect(await storedSeqs(chatId)).toEqual([1]);
    expect(await chatsOf(zed.id)).toEqual([]);
    await expectError(await api(zed.token, "GET", `/v1/chats/${chatId}`), 403, "forbidden");

    const direct = await openDirect(alice, bob);
    await expectError(await addMember(alice, direct, zed.id), 400, "bad_request");
    expect(await storedSeqs(direct)).toEqual([]);
  });
});

describe("roles", () => {
  it("an admin promotes and demotes, each a system message; the role decides who may administer", async () => {
    const [alice, bob, carol, dan] = await users("alice", "bob", "carol", "dan");
    const chatId = await createGroup(alice, "team", [bob.id, carol.id]);
    const res = await setRole(alice, chatId, bob.id, "admin");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ seq: 2 });
    expect((await systemAt(carol, chatId, 2)).event).toEqual({ event: "promoted", actor: alice.id, userId: bob.id });
    expect(await (await addMember(bob, chatId, dan.id)).json()).toEqual({ seq: 3 });

    expect(await (await setRole(bob, chatId, alice.id, "member")).json()).toEqual({ seq: 4 });
    expect((await systemAt(carol, chatId, 4)).event).toEqual({ event: "demoted", actor: bob.id, userId: alice.id });
    await expectError(await removeMember(alice, chatId, dan.id), 403, "forbidden");
    await expectError(await setRole(alice, chatId, alice.id, "admin"), 403, "forbidden");
    expect(await storedSeqs(chatId)).toEqual([1, 2, 3, 4]);
  });

  it("refuses non-admins (403), non-members (404), no-op changes and dropping the last admin (400)", async () => {
    const [alice, bob, eve] = await users("alice", "bob", "eve");
    const chatId = await createGroup(alice, "team", [bob.id]);
    await expectError(await setRole(bob, chatId, bob.id, "admin"), 403, "forbidden");
    await expectError(await setRole(bob, chatId, alice.id, "member"), 403, "forbidden");
    await expectError(await setRole(eve, chatId, eve.id, "admin"), 403, "forbidden");
    await expectError(await setRole(alice, chatId, eve.id, "admin"), 404, "not_found");
    await expectError(await setRole(alice, chatId, alice.id, "admin"), 400, "bad_request");
    await expectError(await setRole(alice, chatId, alice.id, "member"), 400, "bad_request");
    await expectError(await setRole(alice, chatId, bob.id, "owner"), 400, "bad_request");
    expect(await storedSeqs(chatId)).toEqual([1]);
    expect((await membersOf(bob.token, chatId)).find((m) => m.userId === alice.id)?.role).toBe("admin");
  });
});
