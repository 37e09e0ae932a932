/**
 * The chat's message log (objects/chat/log.ts): a send's (sender, clientMsgId) already stored is
 * the one conflict answered as a duplicate; any other conflict, such as a seq already taken,
 * throws instead of passing for a duplicate without a seq.
 */
import { runInDurableObject } from "cloudflare:test";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { describe, expect, it } from "vitest";
import { type Entry, insertMessage, logStatements } from "../objects/chat/log";
import * as schema from "../objects/chat/schema";
import { connect, openDirect, storedSeqs, user } from "./helpers/client";
import { chatStub } from "./helpers/groups";

/** What `f` answers, or the message of what it threw. */
function outcome<T>(f: () => T): { value: T } | { thrown: string } {
  try {
    return { value: f() };
  } catch (err) {
    return { thrown: String(err) };
  }
}

describe("chat log", () => {
  it("insertMessage answers null only for a stored (sender, clientMsgId); a taken seq throws", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const text = (clientMsgId: string): Entry => ({ sender: "s", body: clientMsgId, kind: "text", clientMsgId });

    const answers = await runInDurableObject(chatStub(chatId), (_chat, state) => {
      const log = logStatements(drizzle(state.storage, { schema }));
      return {
        first: outcome(() => insertMessage(log, chatId, 1, 10, text("c1"))),
        duplicate: outcome(() => insertMessage(log, chatId, 2, 11, text("c1"))),
        seqTaken: outcome(() => insertMessage(log, chatId, 1, 12, text("c2"))),
        system: outcome(() => insertMessage(log, chatId, 2, 13, { sender: "s", body: "{}", kind: "system" })),
        // The unique index covers text messages only: a system message's id is no duplicate.
        sameIdAsSystem: outcome(() => insertMessage(log, chatId, 3, 14, text("sys-2"))),
      };
    });
    expect(answers.first).toEqual({ value: expect.objectContaining({ seq: 1, clientMsgId: "c1", ts: 10 }) });
    expect(answers.duplicate).toEqual({ value: null });
    expect(answers.seqTaken).toEqual({ thrown: expect.stringMatching(/UNIQUE constraint failed: messages\.seq/) });
    expect(answers.system).toEqual({ value: expect.objectContaining({ seq: 2, clientMsgId: "sys-2" }) });
    expect(answers.sameIdAsSystem).toEqual({ value: expect.objectContaining({ seq: 3, clientMsgId: "sys-2" }) });
    expect(await storedSeqs(chatId)).toEqual([1, 2, 3]);
  });

  it("a send that meets a seq already taken is answered internal; a real resend still gets its first seq and ts", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = await connect(alice.token, "phone");
    const first = await a.socket.request({ type: "send", chatId, clientMsgId: "c1", body: "one" });
    expect(first).toMatchObject({ type: "ack", seq: 1 });

    // A row the chat does not know of takes the next seq.
    const chat = chatStub(chatId);
    await runInDurableObject(chat, (_chat, state) => {
      state.storage.sql.exec(
        "INSERT INTO messages (seq, sender, client_msg_id, body, ts, kind) VALUES (2, 'intruder', 'x', 'clash', 0, 'text')",
      );
    });
    const clash = await a.socket.request({ type: "send", chatId, clientMsgId: "c2", body: "two" });
    expect(clash).toMatchObject({ type: "error", code: "internal" });

    const resend = await a.socket.request({ type: "send", chatId, clientMsgId: "c1", body: "one" });
    expect(resend).toMatchObject({ type: "ack", clientMsgId: "c1", seq: 1, ts: first.ts });

    await runInDurableObject(chat, (_chat, state) => {
      state.storage.sql.exec("DELETE FROM messages WHERE seq = 2");
    });
    const second = await a.socket.request({ type: "send", chatId, clientMsgId: "c2", body: "two" });
    expect(second).toMatchObject({ type: "ack", clientMsgId: "c2", seq: 2 });
    expect(await storedSeqs(chatId)).toEqual([1, 2]);
    a.socket.close();
  });
});
