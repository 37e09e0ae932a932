/**
 * The client SDK's replies, edits, deletes for everyone and reactions against a real local
 * server: each device's `MessageView`, fed only `message` events, ends exactly where the
 * server's history is; changes wait in the outbox like sends, survive reconnects and restarts
 * and are stored once; a change the server refuses rejects and leaves the outbox.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type ChatSummary, memoryStorage, type SendResult } from "../../client";
import { client, closeClients, stored, storedBefore, until, user, views, waitOpen } from "./sdk-fixtures";

afterEach(closeClients);

function summaryOf(chats: ChatSummary[], chatId: string): ChatSummary {
  const summary = chats.find((c) => c.chatId === chatId);
  if (!summary) throw new Error(`${chatId} is not in the chat list`);
  return summary;
}

describe("views", () => {
  it.each(["direct", "group"] as const)(
    "in a %s chat, a reply, an edit, reactions and a delete leave both views as the server's history",
    async (type) => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const a = client(alice);
      const b = client(bob);
      const chatId =
        type === "direct" ? await a.client.createDirectChat(bob.id) : await a.client.createGroup("plans", [bob.id]);
      const viewA = views(a.client);
      const viewB = views(b.client);
      a.client.connect();
      b.client.connect();
      await Promise.all([waitOpen(a.rec), waitOpen(b.rec)]);

      const hello = await a.client.send(chatId, "hello");
      await until(() => b.client.cursor(chatId) >= hello.seq, "Bob holds Alice's message");
      expect(summaryOf(await b.client.listChats(), chatId).unread).toBe(1);
      const reply = await b.client.reply(chatId, hello.seq, "hi back");
      await a.client.edit(chatId, hello.seq, "hello there");
      await b.client.react(chatId, hello.seq, "👍");
      await a.client.react(chatId, reply.seq, "❤️");
      await b.client.react(chatId, reply.seq, "🎉");
      // A new reaction replaces the user's old one; it goes after Alice's, in the order of reacting.
      await b.client.react(chatId, reply.seq, "❤️");
      const deleted = await a.client.deleteForEveryone(chatId, hello.seq);
      await until(
        () => a.client.cursor(chatId) >= deleted.seq && b.client.cursor(chatId) >= deleted.seq,
        "both devices hold the whole log",
      );

      const log = await stored(alice, chatId);
      expect(log.at(-1)?.seq).toBe(deleted.seq);
      expect(await storedBefore(bob, chatId, 3)).toStrictEqual(log);
      expect(viewA(chatId).rows()).toStrictEqual(log);
      expect(viewB(chatId).rows()).toStrictEqual(log);

      const shown = viewB(chatId).visible();
      expect(shown.find((m) => m.seq === hello.seq)).toStrictEqual({
        chatId,
        seq: hello.seq,
        sender: alice.id,
        clientMsgId: hello.clientMsgId,
        body: "",
        ts: hello.ts,
        kind: "text",
        deleted: true,
      });
      expect(shown.find((m) => m.seq === reply.seq)).toMatchObject({
        body: "hi back",
        replyTo: hello.seq,
        reactions: { "❤️": [alice.id, bob.id] },
      });
      expect(shown.map((m) => m.kind)).not.toContain("edit");
      // The deleted text and its edit are gone from what either device holds, not only hidden.
      for (const view of [viewA, viewB]) expect(JSON.stringify(view(chatId).rows())).not.toContain("hello");
      // Only the messages people read get ticks: the changes are acked but never ticked.
      const ticked = (r: typeof a.rec) => [...new Set(r.ticks.map((t) => t.seq))];
      expect(ticked(a.rec)).toEqual([hello.seq]);
      expect(ticked(b.rec)).toEqual([reply.seq]);
      expect(a.client.pending()).toEqual([]);
      expect(b.client.pending()).toEqual([]);
    },
  );
});

describe("outbox", () => {
  it("a change made while offline goes out after the reconnect, and its resends are stored once", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const a = client(alice);
    const view = views(a.client);
    const chatId = await a.client.createDirectChat(bob.id);
    a.client.connect();
    await waitOpen(a.rec);
    const draft = await a.client.send(chatId, "draft");

    a.net.offline = true;
    a.net.cut();
    await until(() => a.client.state !== "open", "the client notices the lost connection");
    const editing = a.client.edit(chatId, draft.seq, "final", { clientMsgId: "edit-once" });
    expect(a.client.pending()).toEqual([
      { chatId, clientMsgId: "edit-once", body: "final", kind: "edit", target: draft.seq },
    ]);
    a.net.offline = false;
    const edited = await editing;

    // The same change again under its clientMsgId, on another connection: the first one's seq.
    a.net.cut();
    await waitOpen(a.rec, 3);
    const again: SendResult = await a.client.edit(chatId, draft.seq, "final", { clientMsgId: "edit-once" });
    expect(again).toEqual(edited);

    // The server stores a reaction and the connection dies before its ack: the outbox resends it.
    let cuts = 0;
    a.net.filter = (f) => (f.type === "ack" && f.clientMsgId === "react-once" && cuts++ === 0 ? "cut" : "pass");
    const reacted = await a.client.react(chatId, draft.seq, "👍", { clientMsgId: "react-once" });
    const resent = a.net
      .sentFrames()
      .map((f) => JSON.parse(f) as Record<string, unknown>)
      .filter((f) => f.clientMsgId === "react-once");
    expect(resent.length).toBeGreaterThanOrEqual(2);
    for (const f of resent) expect(f).toMatchObject({ type: "send", kind: "reaction", target: draft.seq, body: "👍" });

    const log = await stored(alice, chatId);
    expect(log.filter((m) => m.clientMsgId === "edit-once")).toHaveLength(1);
    expect(log.filter((m) => m.clientMsgId === "react-once")).toHaveLength(1);
    expect(log.map((m) => [m.seq, m.kind, m.target])).toEqual([
      [draft.seq, "text", undefined],
      [edited.seq, "edit", draft.seq],
      [reacted.seq, "reaction", draft.seq],
    ]);
    expect(log[0]).toMatchObject({ body: "final", edited: true, reactions: { "👍": [alice.id] } });
    await until(() => a.client.cursor(chatId) >= reacted.seq, "Alice holds her own changes");
    expect(view(chatId).rows()).toStrictEqual(log);
    expect(a.client.pending()).toEqual([]);
  });

  it("changes kept in storage, and an older SDK's texts, are sent by the device's next client", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const storage = memoryStorage();
    const first = client(alice, { storage });
    const chatId = await first.client.createDirectChat(bob.id);
    first.client.connect();
    await waitOpen(first.rec);
    const note = await first.client.send(chatId, "note");
    first.net.offline = true;
    first.net.cut();
    await until(() => first.client.state !== "open", "the client notices the lost connection");
    const unsent = [
      first.client.reply(chatId, note.seq, "about that", { clientMsgId: "reply-kept" }),
      first.client.react(chatId, note.seq, "🎉", { clientMsgId: "react-kept" }),
    ];
    first.client.close();
    for (const p of unsent) await expect(p).rejects.toThrow(/closed/);

    // An entry as the SDK stored them before kinds existed: a text.
    const key = `edge-chat:${alice.id}:sdk-test:outbox`;
    const kept = JSON.parse(storage.getItem(key) ?? "[]") as unknown[];
    storage.setItem(key, JSON.stringify([...kept, { chatId, clientMsgId: "old-1", body: "from the old SDK" }]));

    const next = client(alice, { storage });
    expect(next.client.pending()).toEqual([
      { chatId, clientMsgId: "reply-kept", body: "about that", replyTo: note.seq },
      { chatId, clientMsgId: "react-kept", body: "🎉", kind: "reaction", target: note.seq },
      { chatId, clientMsgId: "old-1", body: "from the old SDK" },
    ]);
    next.client.connect();
    await until(() => next.client.pending().length === 0, "the kept entries are acked");
    const log = await stored(alice, chatId);
    expect(log.map((m) => [m.clientMsgId, m.kind, m.body, m.target, m.replyTo])).toEqual([
      [note.clientMsgId, "text", "note", undefined, undefined],
      ["reply-kept", "text", "about that", undefined, note.seq],
      ["react-kept", "reaction", "🎉", note.seq, undefined],
      ["old-1", "text", "from the old SDK", undefined, undefined],
    ]);
    expect(log[0]?.reactions).toEqual({ "🎉": [alice.id] });
  });

  it("a change the server refuses rejects with its code, leaves the outbox and is not sent again", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const a = client(alice);
    const b = client(bob);
    const chatId = await a.client.createDirectChat(bob.id);
    a.client.connect();
    b.client.connect();
    await Promise.all([waitOpen(a.rec), waitOpen(b.rec)]);
    const hello = await a.client.send(chatId, "hello");
    const thumbs = await b.client.react(chatId, hello.seq, "👍");

    await expect(
      b.client.edit(chatId, hello.seq, "not mine to edit", { clientMsgId: "refused-edit" }),
    ).rejects.toMatchObject({ name: "ProtocolError", code: "forbidden" });
    expect(b.client.pending()).toEqual([]);
    await expect(b.client.deleteForEveryone(chatId, hello.seq)).rejects.toMatchObject({ code: "forbidden" });
    await expect(b.client.react(chatId, 9_999, "👍")).rejects.toMatchObject({ code: "not_found" });
    await expect(b.client.reply(chatId, thumbs.seq, "to a reaction")).rejects.toMatchObject({ code: "bad_request" });
    expect(b.client.pending()).toEqual([]);
    // Checked by the SDK before anything is sent: not an emoji.
    const framesBefore = b.net.sentFrames().length;
    await expect(b.client.react(chatId, hello.seq, "nice")).rejects.toMatchObject({ code: "bad_request" });
    expect(b.net.sentFrames().length).toBe(framesBefore);

    b.net.cut();
    await waitOpen(b.rec, 2);
    const later = await b.client.send(chatId, "fine then");
    expect(b.net.sentFrames().filter((f) => f.includes('"refused-edit"'))).toHaveLength(1);
    const log = await stored(alice, chatId);
    expect(log.map((m) => m.seq)).toEqual([hello.seq, thumbs.seq, later.seq]);
    expect(log[0]).toMatchObject({ body: "hello", reactions: { "👍": [bob.id] } });
    expect(log[0]?.edited).toBeUndefined();
  });
});
