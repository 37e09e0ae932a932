/**
 * Where a group's data lives (protocol v1.1): a group created with a jurisdiction is named by
 * it (`g~eu~...`), its object is the jurisdiction's (a distinct id from the default namespace's
 * for the same name), and every route and frame finds it there: the default namespace's object
 * for that id is never written, and its files are in the jurisdiction's bucket only.
 * `DATA_JURISDICTION` sets the default for new groups. Local workerd has no jurisdictions: the
 * placement's local emulation (a name of its own) stands in, and a stand-in namespace shows the
 * platform path.
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { placedId } from "../objects/placement";
import { chatStub, relayStub } from "../objects/stubs";
import { jurisdictionOf } from "../protocol";
import { app } from "../worker/app";
import { api, connect, history, json, openDirect, unique } from "./helpers/client";
import { expectError, pollUntil, type User, users } from "./helpers/groups";
import { pngBytes } from "./helpers/png";

const ORIGIN = "http://chat.test";
const EU_GROUP = /^g~eu~[a-z2-7]{20}$/;
const PNG = pngBytes(200);
const namespaces: Record<"CHAT" | "RELAY", DurableObjectNamespace> = env;

/** Every row of every table of an object's SQLite, by table (none for an object never written). */
async function tablesOf(stub: DurableObjectStub): Promise<Record<string, number>> {
  return runInDurableObject(stub, (_i, state) => {
    const names = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray()
      .map((t) => t.name)
      .filter((name) => !name.startsWith("_cf_") && !name.startsWith("sqlite_"));
    return Object.fromEntries(
      names.map((t) => [t, state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM "${t}"`).one().n]),
    );
  });
}

const euChat = (chatId: string) => namespaces.CHAT.get(placedId(namespaces.CHAT, "eu", chatId, true));
const defaultChat = (chatId: string) => namespaces.CHAT.get(namespaces.CHAT.idFromName(chatId));

async function createIn(owner: User, members: string[], extra: Record<string, unknown>): Promise<Response> {
  return api(owner.token, "POST", "/v1/chats", { type: "group", title: "residents", members, ...extra });
}

async function keysIn(bucket: R2Bucket, chatId: string): Promise<string[]> {
  return (await bucket.list({ prefix: `chats/${chatId}/` })).objects.map((o) => o.key);
}

describe("data residency", () => {
  it("keeps an EU group in the EU namespace and bucket on every path, and nothing in the default one", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const created = await createIn(alice, [bob.id], { jurisdiction: "eu" });
    expect(created.status).toBe(201);
    const { chatId } = await json<{ chatId: string }>(created);
    expect(chatId).toMatch(EU_GROUP);
    expect(jurisdictionOf(chatId)).toBe("eu");
    // The same name gives another object in the EU namespace than in the default one.
    expect(placedId(namespaces.CHAT, "eu", chatId, true).equals(namespaces.CHAT.idFromName(chatId))).toBe(false);

    const a = await connect(alice.token, "phone");
    // Sends: a frame and HTTP.
    const framed = await a.socket.request({ type: "send", chatId, clientMsgId: unique("m"), body: "by frame" });
    expect(framed).toMatchObject({ type: "ack", seq: 2 });
    const posted = await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, {
      clientMsgId: unique("m"),
      body: "by http",
    });
    expect(await json(posted)).toMatchObject({ seq: 3 });

    // Bob was offline: his connect resumes the chat there, and `ready` and the list name it.
    const b = await connect(bob.token, "phone");
    expect(b.ready.chats).toEqual([expect.objectContaining({ chatId, lastSeq: 3, unread: 2 })]);
    const listed = await json<{ chats: { chatId: string; lastSeq: number }[] }>(
      await api(bob.token, "GET", "/v1/chats"),
    );
    expect(listed.chats).toEqual([expect.objectContaining({ chatId, lastSeq: 3 })]);

    // History: HTTP and a frame.
    const page = await history(bob.token, chatId, "after=0");
    expect(page.messages.map((m) => m.body).slice(1)).toEqual(["by frame", "by http"]);
    const framedPage = await b.socket.request({ type: "history", chatId, after: 1 });
    expect(framedPage).toMatchObject({ type: "history", messages: [{ seq: 2 }, { seq: 3 }] });

    // Receipts and message info.
    b.socket.send({ type: "received", chatId, seq: 3 });
    b.socket.send({ type: "read", chatId, seq: 2 });
    const info = await pollUntil(
      async () =>
        json<{ delivered: string[]; read: string[] }>(
          await api(alice.token, "GET", `/v1/chats/${chatId}/messages/2/receipts`),
        ),
      (i) => i.read.length === 1 && i.delivered.length === 1,
    );
    expect(info).toEqual({ seq: 2, delivered: [bob.id], read: [bob.id] });

    // Typing reaches the other member.
    const typing = b.socket.next((f) => f.type === "typing" && f.chatId === chatId);
    a.socket.send({ type: "typing", id: unique("t"), chatId, on: true });
    expect(await typing).toMatchObject({ userId: alice.id, on: true });

    // Members: add and remove.
    expect((await api(alice.token, "POST", `/v1/chats/${chatId}/members`, { userId: carol.id })).status).toBe(201);
    expect((await api(alice.token, "DELETE", `/v1/chats/${chatId}/members/${carol.id}`)).status).toBe(200);
    const described = await json<{ members: { userId: string }[] }>(await api(bob.token, "GET", `/v1/chats/${chatId}`));
    expect(described.members.map((m) => m.userId).sort()).toEqual([alice.id, bob.id].sort());

    // A file: its bytes go to the EU bucket, and come back from it.
    const up = await exports.default.fetch(`${ORIGIN}/v1/chats/${chatId}/attachments?name=p.png`, {
      method: "POST",
      headers: { Authorization: `Bearer ${alice.token}`, "Content-Type": "image/png" },
      body: PNG,
    });
    expect(up.status).toBe(201);
    const file = await json<{ id: string }>(up);
    expect(await keysIn(env.ATTACHMENTS_EU, chatId)).toEqual([`chats/${chatId}/${file.id}`]);
    expect(await keysIn(env.ATTACHMENTS, chatId)).toEqual([]);
    const sent = await a.socket.request({
      type: "send",
      chatId,
      clientMsgId: unique("f"),
      kind: "attachment",
      attachment: { id: file.id },
      body: "",
    });
    expect(sent.type).toBe("ack");
    const down = await exports.default.fetch(`${ORIGIN}/v1/chats/${chatId}/attachments/${file.id}`, {
      headers: { Authorization: `Bearer ${bob.token}` },
    });
    expect(down.status).toBe(200);
    expect(new Uint8Array(await down.arrayBuffer())).toEqual(PNG);
    // Deleting the message deletes the bytes from the EU bucket (the chat object chooses it too).
    await a.socket.request({
      type: "send",
      chatId,
      clientMsgId: unique("d"),
      kind: "delete",
      target: sent.seq,
      body: "",
    });
    await pollUntil(
      () => keysIn(env.ATTACHMENTS_EU, chatId),
      (keys) => keys.length === 0,
    );

    a.socket.close();
    b.socket.close();
    // The EU object holds the chat; the default namespace's object of the same name was never written.
    expect((await tablesOf(euChat(chatId))).messages).toBeGreaterThan(5);
    expect(await tablesOf(defaultChat(chatId))).toEqual({});
  });

  it("refuses a jurisdiction that is not offered with 400, and an id naming one with 404", async () => {
    const [alice] = await users("alice");
    for (const jurisdiction of ["mars", "fedramp-high", "EU", ""]) {
      await expectError(await createIn(alice, [], { jurisdiction }), 400, "bad_request");
    }
    const res = await createIn(alice, [], { jurisdiction: "fedramp" });
    expect((await json<{ chatId: string }>(res)).chatId).toMatch(/^g~fedramp~[a-z2-7]{20}$/);
    await expectError(await api(alice.token, "GET", "/v1/chats/g~mars~abcdefghijklmnopqrst"), 404, "not_found");
    // Direct chats are between two users and are not placed: no field, no jurisdiction.
    const [bob] = await users("bob");
    expect(jurisdictionOf(await openDirect(alice, bob))).toBeUndefined();
  });

  it("places new groups by DATA_JURISDICTION unless the request names one, and fails closed on a bad value", async () => {
    const [alice] = await users("alice");
    const create = async (vars: Record<string, string>, extra: Record<string, unknown> = {}) => {
      const ctx = createExecutionContext();
      const res = await app.fetch(
        new Request(`${ORIGIN}/v1/chats`, {
          method: "POST",
          headers: { Authorization: `Bearer ${alice.token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ type: "group", title: "t", ...extra }),
        }),
        { ...env, ...vars },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    };
    const byDefault = await json<{ chatId: string }>(await create({ DATA_JURISDICTION: "eu" }));
    expect(byDefault.chatId).toMatch(EU_GROUP);
    expect((await tablesOf(euChat(byDefault.chatId))).messages).toBe(1);
    expect(await tablesOf(defaultChat(byDefault.chatId))).toEqual({});
    const named = await json<{ chatId: string }>(
      await create({ DATA_JURISDICTION: "eu" }, { jurisdiction: "fedramp" }),
    );
    expect(named.chatId).toMatch(/^g~fedramp~/);
    const unset = await json<{ chatId: string }>(await create({}));
    expect(unset.chatId).toMatch(/^g~[a-z2-7]{20}$/);
    await expectError(await create({ DATA_JURISDICTION: "mars" }), 500, "internal");
  });

  it("places a group's relay objects with its chat object", () => {
    const chatId = "g~eu~abcdefghijklmnopqrst";
    const name = `${chatId}/relay/3`;
    const relay = relayStub(env, chatId, 3).id;
    expect(relay.equals(placedId(namespaces.RELAY, "eu", name, true))).toBe(true);
    expect(relay.equals(namespaces.RELAY.idFromName(name))).toBe(false);
    expect(chatStub(env, chatId).id.equals(euChat(chatId).id)).toBe(true);
  });

  it("asks the platform for the jurisdiction's namespace, and emulates it only in local development", () => {
    const asked: string[] = [];
    const fake = (jurisdiction: (j: string) => { idFromName(name: string): string }) =>
      ({
        idFromName: (name: string) => `plain:${name}`,
        jurisdiction: (j: string) => {
          asked.push(j);
          return jurisdiction(j);
        },
      }) as unknown as DurableObjectNamespace;
    const platform = fake((j) => ({ idFromName: (name) => `${j}:${name}` }));
    expect(placedId(platform, "eu", "g~eu~x", false)).toBe("eu:g~eu~x");
    expect(placedId(platform, undefined, "g~x", false)).toBe("plain:g~x");
    expect(asked).toEqual(["eu"]);
    const workerd = fake(() => {
      throw new Error("Jurisdiction restrictions are not implemented in workerd.");
    });
    expect(placedId(workerd, "fedramp", "g~fedramp~x", true)).toBe("plain:@fedramp/g~fedramp~x");
    // Deployed (no DEV_AUTH), a failure to place is an error, never the default namespace.
    expect(() => placedId(workerd, "eu", "g~eu~x", false)).toThrow(/not implemented/);
    const broken = fake(() => {
      throw new Error("jurisdiction unavailable");
    });
    expect(() => placedId(broken, "eu", "g~eu~x", true)).toThrow("jurisdiction unavailable");
  });
});
