/**
 * Replies, edits, deletes for everyone and reactions: each rule and refusal over frames and
 * HTTP, in direct chats and groups; the target rows' state in history; nothing stored on a
 * refusal; resends answered with the first ack.
 */

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../protocol";
import { api, connect, history, json, openDirect, storedSeqs, type TestSocket, unique, user } from "./helpers/client";
import { createGroup, type User, users } from "./helpers/groups";

type Send = { kind?: string; body?: string; target?: number; replyTo?: number; clientMsgId?: string };

/** Sends over the socket; answers the ack or the error frame. */
async function frameSend(socket: TestSocket, chatId: string, send: Send) {
  return socket.request({ type: "send", chatId, clientMsgId: unique("c"), body: "", ...send });
}

/** Sends over HTTP; answers status and body. */
async function httpSend(u: User, chatId: string, send: Send) {
  const res = await api(u.token, "POST", `/v1/chats/${chatId}/messages`, {
    clientMsgId: unique("c"),
    body: "",
    ...send,
  });
  return { status: res.status, body: await json<Record<string, unknown>>(res) };
}

async function rowAt(u: User, chatId: string, seq: number): Promise<Message> {
  const page = await history(u.token, chatId, `after=${seq - 1}&limit=1`);
  return page.messages[0] as Message;
}

/** Moves a stored message's timestamp back, as if it had been sent `ms` earlier. */
async function age(chatId: string, seq: number, ms: number): Promise<void> {
  const stub = env.CHAT.get(env.CHAT.idFromName(chatId));
  await runInDurableObject(stub, (_i, state) => {
    state.storage.sql.exec("UPDATE messages SET ts = ts - ? WHERE seq = ?", ms, seq);
  });
}

describe("message kinds in a direct chat", () => {
  let alice: User;
  let bob: User;
  let chatId: string;
  let a: TestSocket;
  let b: TestSocket;

  beforeAll(async () => {
    [alice, bob] = await users("alice", "bob");
    chatId = await openDirect(alice, bob);
    a = (await connect(alice.token, "phone")).socket;
    b = (await connect(bob.token, "phone")).socket;
  });

  it("a reply names its message; edits, deletes and reactions are pushed and acked like sends", async () => {
    const first = await frameSend(a, chatId, { body: "lunch at noon?" });
    expect(first.type).toBe("ack");
    const reply = await frameSend(b, chatId, { body: "yes", replyTo: first.seq as number });
    expect(reply.type).toBe("ack");
    const pushed = await a.next((f) => f.type === "message" && f.seq === reply.seq);
    expect(pushed).toMatchObject({ kind: "text", body: "yes", replyTo: first.seq });

    const edit = await frameSend(a, chatId, { kind: "edit", target: first.seq as number, body: "lunch at one?" });
    expect(edit.type).toBe("ack");
    expect(await b.next((f) => f.type === "message" && f.seq === edit.seq)).toMatchObject({
      kind: "edit",
      target: first.seq,
      body: "lunch at one?",
    });
    const react = await frameSend(b, chatId, { kind: "reaction", target: first.seq as number, body: "👍" });
    expect(react.type).toBe("ack");
    expect(await a.next((f) => f.type === "message" && f.seq === react.seq)).toMatchObject({
      kind: "reaction",
      body: "👍",
    });

    const row = await rowAt(alice, chatId, first.seq as number);
    expect(row).toMatchObject({ body: "lunch at one?", edited: true, reactions: { "👍": [bob.id] } });
    expect(row.deleted).toBeUndefined();
    // The entries keep their own seqs, in the log as they were pushed.
    const page = await history(bob.token, chatId, `after=${(first.seq as number) - 1}`);
    expect(page.messages.map((m) => m.kind)).toEqual(["text", "text", "edit", "reaction"]);
  });

  it("one reaction per user: a new one replaces, an empty one takes it back", async () => {
    const m = await frameSend(a, chatId, { body: "pick one" });
    const seq = m.seq as number;
    await frameSend(a, chatId, { kind: "reaction", target: seq, body: "😂" });
    await frameSend(b, chatId, { kind: "reaction", target: seq, body: "😂" });
    expect((await rowAt(bob, chatId, seq)).reactions).toEqual({ "😂": [alice.id, bob.id] });
    await frameSend(a, chatId, { kind: "reaction", target: seq, body: "❤️" });
    expect((await rowAt(bob, chatId, seq)).reactions).toEqual({ "❤️": [alice.id], "😂": [bob.id] });
    await frameSend(a, chatId, { kind: "reaction", target: seq, body: "" });
    await frameSend(b, chatId, { kind: "reaction", target: seq, body: "" });
    expect((await rowAt(bob, chatId, seq)).reactions).toBeUndefined();
  });

  it("delete for everyone erases the message and its edits' text; nothing more may change it", async () => {
    const m = await frameSend(a, chatId, { body: "wrong chat, sorry" });
    const seq = m.seq as number;
    const edit = await frameSend(a, chatId, { kind: "edit", target: seq, body: "wrong chat!" });
    await frameSend(b, chatId, { kind: "reaction", target: seq, body: "😮" });
    const del = await frameSend(a, chatId, { kind: "delete", target: seq });
    expect(del.type).toBe("ack");
    expect(await b.next((f) => f.type === "message" && f.seq === del.seq)).toMatchObject({
      kind: "delete",
      target: seq,
      body: "",
    });
    const row = await rowAt(bob, chatId, seq);
    expect(row).toMatchObject({ deleted: true, body: "" });
    expect(row.edited).toBeUndefined();
    expect(row.reactions).toBeUndefined();
    expect((await rowAt(bob, chatId, edit.seq as number)).body).toBe("");

    for (const send of [
      { kind: "edit", target: seq, body: "again" },
      { kind: "reaction", target: seq, body: "👍" },
      { kind: "delete", target: seq },
      { body: "quoting it", replyTo: seq },
    ]) {
      const before = await storedSeqs(chatId);
      const refused = await frameSend(a, chatId, send);
      expect(refused, JSON.stringify(send)).toMatchObject({ type: "error", code: "forbidden" });
      expect((await httpSend(alice, chatId, send)).status).toBe(403);
      expect(await storedSeqs(chatId)).toEqual(before);
    }
  });

  it("refuses what does not fit the kind, what names no message, and what is not the sender's to change", async () => {
    const m = await frameSend(a, chatId, { body: "mine" });
    const seq = m.seq as number;
    const last = (await storedSeqs(chatId)).at(-1) as number;
    const cases: [Send, string, number, User][] = [
      [{ kind: "edit", body: "no target" }, "bad_request", 400, alice],
      [{ kind: "edit", target: seq, body: "" }, "bad_request", 400, alice],
      [{ kind: "edit", target: seq, body: "x", replyTo: seq }, "bad_request", 400, alice],
      [{ body: "text with a target", target: seq }, "bad_request", 400, alice],
      [{ kind: "delete", target: seq, body: "not empty" }, "bad_request", 400, alice],
      [{ kind: "reaction", target: seq, body: "ok" }, "bad_request", 400, bob],
      [{ kind: "reaction", target: seq, body: "👍👍" }, "bad_request", 400, bob],
      [{ kind: "reaction", target: seq, body: "👨‍👩‍👧‍👦👨‍👩‍👧‍👦" }, "bad_request", 400, bob],
      [{ kind: "shout", target: seq, body: "x" }, "bad_request", 400, bob],
      [{ kind: "edit", target: last + 5, body: "x" }, "not_found", 404, alice],
      [{ kind: "reaction", target: last + 5, body: "👍" }, "not_found", 404, bob],
      [{ body: "reply", replyTo: last + 5 }, "not_found", 404, bob],
      [{ kind: "edit", target: seq, body: "not yours" }, "forbidden", 403, bob],
      [{ kind: "delete", target: seq }, "forbidden", 403, bob],
    ];
    for (const [send, code, status, who] of cases) {
      const before = await storedSeqs(chatId);
      const socket = who === alice ? a : b;
      expect(await frameSend(socket, chatId, send), JSON.stringify(send)).toMatchObject({ type: "error", code });
      const http = await httpSend(who, chatId, send);
      expect(http.status, JSON.stringify(send)).toBe(status);
      expect(http.body).toMatchObject({ error: { code } });
      expect(await storedSeqs(chatId)).toEqual(before);
    }
    // The socket survived every refusal.
    expect((await frameSend(b, chatId, { body: "still here" })).type).toBe("ack");
  });

  it("a change may only name a text message: system messages and changes are not targets", async () => {
    const m = await frameSend(a, chatId, { body: "target" });
    const react = await frameSend(b, chatId, { kind: "reaction", target: m.seq as number, body: "👍" });
    for (const send of [
      { kind: "reaction", target: react.seq as number, body: "👍" },
      { kind: "edit", target: react.seq as number, body: "x" },
      { body: "reply to a reaction", replyTo: react.seq as number },
    ]) {
      expect(await frameSend(b, chatId, send), JSON.stringify(send)).toMatchObject({
        type: "error",
        code: "bad_request",
      });
    }
  });

  it("edit and delete windows: the sender's rights end, a resend still gets its first ack", async () => {
    const m = await frameSend(a, chatId, { body: "old news" });
    const seq = m.seq as number;
    const clientMsgId = unique("edit");
    const edit = await frameSend(a, chatId, { kind: "edit", target: seq, body: "fresh news", clientMsgId });
    await age(chatId, seq, 901_000);
    expect(await frameSend(a, chatId, { kind: "edit", target: seq, body: "too late" })).toMatchObject({
      type: "error",
      code: "forbidden",
    });
    // The same edit sent again (its ack was lost): the first ack, nothing stored.
    const before = await storedSeqs(chatId);
    const again = await frameSend(a, chatId, { kind: "edit", target: seq, body: "fresh news", clientMsgId });
    expect(again).toMatchObject({ type: "ack", seq: edit.seq, ts: edit.ts });
    expect(await storedSeqs(chatId)).toEqual(before);
    // Still inside the delete window (48 h); then past it.
    expect(
      (
        await frameSend(a, chatId, {
          kind: "delete",
          target: (await frameSend(a, chatId, { body: "d" })).seq as number,
        })
      ).type,
    ).toBe("ack");
    const late = await frameSend(a, chatId, { body: "too old to delete" });
    await age(chatId, late.seq as number, 172_801_000);
    expect(await frameSend(a, chatId, { kind: "delete", target: late.seq as number })).toMatchObject({
      type: "error",
      code: "forbidden",
    });
  });

  it("a non-member gets the same answer as before, whatever it sends", async () => {
    const eve = await user("eve");
    const e = (await connect(eve.token, "phone")).socket;
    const before = await storedSeqs(chatId);
    for (const send of [
      { body: "hi" },
      { kind: "edit", target: 1, body: "x" },
      { kind: "reaction", target: 1, body: "👍" },
      { kind: "delete", target: 1 },
      { kind: "reaction", target: 999_999, body: "👍" },
      { body: "r", replyTo: 1 },
    ]) {
      expect(await frameSend(e, chatId, send)).toMatchObject({
        type: "error",
        code: "forbidden",
        message: "not a member of this chat",
      });
      expect((await httpSend(eve, chatId, send)).body).toEqual({
        error: { code: "forbidden", message: "not a member of this chat" },
      });
    }
    expect(await storedSeqs(chatId)).toEqual(before);
    e.close();
  });
});

describe("message kinds in a group", () => {
  it("an admin may delete anyone's message at any time; a member only its own", async () => {
    const [owner, ann, ben] = await users("owner", "ann", "ben");
    const chatId = await createGroup(owner, "g", [ann.id, ben.id]);
    const o = (await connect(owner.token, "phone")).socket;
    const a = (await connect(ann.token, "phone")).socket;
    const annMsg = await frameSend(a, chatId, { body: "ann's" });
    const benMsg = await httpSend(ben, chatId, { body: "ben's" });
    expect(await frameSend(a, chatId, { kind: "delete", target: benMsg.body.seq as number })).toMatchObject({
      type: "error",
      code: "forbidden",
    });
    await age(chatId, annMsg.seq as number, 10 * 172_800_000);
    expect((await frameSend(o, chatId, { kind: "delete", target: annMsg.seq as number })).type).toBe("ack");
    expect((await httpSend(owner, chatId, { kind: "delete", target: benMsg.body.seq as number })).status).toBe(200);
    expect(await rowAt(ben, chatId, annMsg.seq as number)).toMatchObject({ deleted: true, body: "" });
    // An admin may not edit someone else's message.
    const c = await frameSend(a, chatId, { body: "ann again" });
    expect(await frameSend(o, chatId, { kind: "edit", target: c.seq as number, body: "x" })).toMatchObject({
      type: "error",
      code: "forbidden",
    });
    // Reactions from several members, in the order they came.
    await frameSend(o, chatId, { kind: "reaction", target: c.seq as number, body: "🎉" });
    await httpSend(ben, chatId, { kind: "reaction", target: c.seq as number, body: "🎉" });
    await frameSend(a, chatId, { kind: "reaction", target: c.seq as number, body: "👍" });
    expect((await rowAt(ben, chatId, c.seq as number)).reactions).toEqual({ "👍": [ann.id], "🎉": [owner.id, ben.id] });
  });
});
