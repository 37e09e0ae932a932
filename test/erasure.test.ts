/**
 * Delete for everyone erases: after the delete, the text of the message and of every edit of it
 * is in no answer of any route or frame, and in no row of any table of the chat object or the
 * members' user objects.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, connect, type TestSocket, unique } from "./helpers/client";
import { createGroup, users } from "./helpers/groups";

const namespaces: Record<"CHAT" | "USER", DurableObjectNamespace> = env;

/** Every row of every table of an object's SQLite, as one string. */
async function allRows(stub: DurableObjectStub): Promise<string> {
  return runInDurableObject(stub, (_i, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray()
      .map((t) => t.name)
      .filter((name) => !name.startsWith("_cf_") && !name.startsWith("sqlite_"));
    return tables
      .map((t) => `${t}: ${JSON.stringify(state.storage.sql.exec(`SELECT * FROM "${t}"`).toArray())}`)
      .join("\n");
  });
}

async function send(socket: TestSocket, chatId: string, fields: Record<string, unknown>): Promise<number> {
  const ack = await socket.request({ type: "send", chatId, clientMsgId: unique("c"), body: "", ...fields });
  if (ack.type !== "ack") throw new Error(JSON.stringify(ack));
  return ack.seq as number;
}

describe("erasure", () => {
  it("leaves the deleted text and its edits in no answer and no table", async () => {
    const [owner, ann, ben] = await users("owner", "ann", "ben");
    const chatId = await createGroup(owner, "erasure", [ann.id, ben.id]);
    const secret = unique("SECRET");
    const o = (await connect(owner.token, "phone")).socket;
    const a = (await connect(ann.token, "phone")).socket;
    const originalId = unique("original");
    const seq = await send(a, chatId, { body: `${secret} original`, clientMsgId: originalId });
    const edit1 = await send(a, chatId, { kind: "edit", target: seq, body: `${secret} edit one` });
    await send(a, chatId, { kind: "edit", target: seq, body: `${secret} edit two` });
    await send(o, chatId, { kind: "reaction", target: seq, body: "👍" });
    const reply = await send(o, chatId, { body: "a reply that quotes it", replyTo: seq });
    // Before the delete the text is there (so the searches below can find it).
    const before = await api(ben.token, "GET", `/v1/chats/${chatId}/messages?after=0`);
    expect(await before.text()).toContain(secret);
    expect(await allRows(namespaces.CHAT.get(namespaces.CHAT.idFromName(chatId)))).toContain(secret);

    // An admin deletes it.
    const del = await send(o, chatId, { kind: "delete", target: seq });

    const answers: string[] = [];
    for (const u of [owner, ann, ben]) {
      for (const path of [
        `/v1/chats/${chatId}/messages?after=0&limit=500`,
        `/v1/chats/${chatId}/messages?before=${del + 1}&limit=500`,
        `/v1/chats/${chatId}/messages?after=${seq - 1}&limit=1`,
        `/v1/chats/${chatId}`,
        "/v1/chats",
        ...[seq, edit1, reply, del].map((s) => `/v1/chats/${chatId}/messages/${s}/receipts`),
      ]) {
        answers.push(await (await api(u.token, "GET", path)).text());
      }
    }
    // Frames: history both ways, and a new device's whole sync.
    const b = await connect(ben.token, "tablet");
    answers.push(JSON.stringify(b.ready));
    answers.push(JSON.stringify(await b.socket.request({ type: "history", chatId, after: 0, limit: 500 })));
    answers.push(JSON.stringify(await b.socket.request({ type: "history", chatId, before: del + 1, limit: 500 })));
    // A resend of the deleted message (its ack was lost): its first ack, and no text anywhere.
    const resend = await a.request({ type: "send", chatId, clientMsgId: originalId, body: `${secret} original` });
    expect(resend).toMatchObject({ type: "ack", seq });
    answers.push(JSON.stringify(resend));
    await send(a, chatId, { body: "after the delete" });
    await b.socket.next((f) => f.type === "message" && f.body === "after the delete");
    answers.push(JSON.stringify(b.socket.frames));
    answers.push(JSON.stringify(a.frames.slice(a.frames.findIndex((f) => f.type === "ack" && f.seq === del) + 1)));

    for (const answer of answers) expect(answer).not.toContain(secret);
    expect(answers.join("\n")).toContain('"deleted":true');

    expect(await allRows(namespaces.CHAT.get(namespaces.CHAT.idFromName(chatId)))).not.toContain(secret);
    for (const u of [owner, ann, ben])
      expect(await allRows(namespaces.USER.get(namespaces.USER.idFromName(u.id)))).not.toContain(secret);
    for (const s of [o, a, b.socket]) s.close();
  });
});
