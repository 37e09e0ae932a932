/**
 * Attachments in R2: upload rules (members only, type and first bytes, declared and actual
 * size, the file name cleaned), sending an upload, downloads (members only, headers, Range),
 * uploads no message names deleted by the chat's alarm, and a deleted message's bytes gone.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../protocol";
import { api, connect, history, json, openDirect, type TestSocket, unique } from "./helpers/client";
import { createGroup, type User, users } from "./helpers/groups";
import { pngBytes } from "./helpers/png";

const ORIGIN = "http://chat.test";
const PNG = pngBytes(300);
const PDF = new TextEncoder().encode(`%PDF-1.7\n${"x".repeat(1000)}\n%%EOF`);
const namespaces: Record<"CHAT", DurableObjectNamespace> = env;
const chatStub = (chatId: string) => namespaces.CHAT.get(namespaces.CHAT.idFromName(chatId));

type Uploaded = { id: string; size: number; contentType: string; name: string };

async function upload(
  u: User,
  chatId: string,
  bytes: Uint8Array,
  contentType: string,
  name = "photo.png",
  headers: Record<string, string> = {},
): Promise<Response> {
  return exports.default.fetch(`${ORIGIN}/v1/chats/${chatId}/attachments?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${u.token}`, "Content-Type": contentType, ...headers },
    body: bytes,
  });
}

async function uploaded(u: User, chatId: string, bytes: Uint8Array, type: string, name?: string): Promise<Uploaded> {
  const res = await upload(u, chatId, bytes, type, name);
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return json<Uploaded>(res);
}

function download(u: User, chatId: string, id: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(`${ORIGIN}/v1/chats/${chatId}/attachments/${id}`, {
    headers: { Authorization: `Bearer ${u.token}`, ...headers },
  });
}

async function keysOf(chatId: string): Promise<string[]> {
  return (await env.ATTACHMENTS.list({ prefix: `chats/${chatId}/` })).objects.map((o) => o.key);
}

async function sendFile(socket: TestSocket, chatId: string, id: string, caption = "") {
  return socket.request({
    type: "send",
    chatId,
    clientMsgId: unique("f"),
    kind: "attachment",
    attachment: { id },
    body: caption,
  });
}

describe("attachments", () => {
  let alice: User;
  let bob: User;
  let eve: User;
  let chatId: string;
  let a: TestSocket;
  let b: TestSocket;

  beforeAll(async () => {
    [alice, bob, eve] = await users("alice", "bob", "eve");
    chatId = await openDirect(alice, bob);
    a = (await connect(alice.token, "phone")).socket;
    b = (await connect(bob.token, "phone")).socket;
  });

  it("a photo goes up, is sent with a caption, and comes down byte for byte with safe headers", async () => {
    const file = await uploaded(alice, chatId, PNG, "image/png", "holiday.png");
    expect(file).toMatchObject({ size: PNG.byteLength, contentType: "image/png", name: "holiday.png" });
    expect(file.id).toMatch(/^[a-z2-7]{26}$/);
    const ack = await sendFile(a, chatId, file.id, "the beach");
    expect(ack.type).toBe("ack");
    const pushed = await b.next((f) => f.type === "message" && f.seq === ack.seq);
    expect(pushed).toMatchObject({ kind: "attachment", body: "the beach", attachment: file });

    const res = await download(bob, chatId, file.id);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG);
    expect(res.headers.get("Content-Type")).toBe("image/png");
    expect(res.headers.get("Content-Length")).toBe(String(PNG.byteLength));
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Cache-Control")).toMatch(/^private/);
    expect(res.headers.get("Content-Disposition")).toBe(
      `attachment; filename="holiday.png"; filename*=UTF-8''holiday.png`,
    );

    // Range: the first ten bytes, the last five, and one past the end.
    const first = await download(bob, chatId, file.id, { Range: "bytes=0-9" });
    expect(first.status).toBe(206);
    expect(first.headers.get("Content-Range")).toBe(`bytes 0-9/${PNG.byteLength}`);
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(PNG.slice(0, 10));
    const last = await download(bob, chatId, file.id, { Range: "bytes=-5" });
    expect(last.status).toBe(206);
    expect(new Uint8Array(await last.arrayBuffer())).toEqual(PNG.slice(-5));
    const past = await download(bob, chatId, file.id, { Range: `bytes=${PNG.byteLength}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get("Content-Range")).toBe(`bytes */${PNG.byteLength}`);
  });

  it("refuses outsiders, wrong or spoofed types, missing and wrong sizes, and keeps nothing", async () => {
    const before = await keysOf(chatId);
    const cases: [User, Uint8Array, string, Record<string, string>, number, string][] = [
      [eve, PNG, "image/png", {}, 403, "forbidden"],
      [alice, PNG, "application/x-msdownload", {}, 400, "bad_request"],
      [alice, new TextEncoder().encode("MZ not a png at all"), "image/png", {}, 400, "bad_request"],
      [alice, PDF, "image/jpeg", {}, 400, "bad_request"],
      [alice, PNG, "application/pdf", {}, 400, "bad_request"],
      [alice, PNG, "image/png", { "Content-Length": String(104_857_601) }, 413, "too_large"],
    ];
    for (const [who, bytes, type, headers, status, code] of cases) {
      const res = await upload(who, chatId, bytes, type, "x.png", headers);
      expect(res.status, `${type} ${JSON.stringify(headers)}`).toBe(status);
      expect(await json(res)).toMatchObject({ error: { code } });
    }
    // A body longer than it said it was, and one shorter.
    for (const [declared, status] of [
      [100, 413],
      [PNG.byteLength + 50, 400],
    ] as const) {
      const stream = new ReadableStream<Uint8Array>({
        start(ctl) {
          ctl.enqueue(PNG.slice(0, 150));
          ctl.enqueue(PNG.slice(150));
          ctl.close();
        },
      });
      const res = await exports.default.fetch(
        new Request(`${ORIGIN}/v1/chats/${chatId}/attachments?name=a.png`, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${alice.token}`,
            "Content-Type": "image/png",
            "Content-Length": String(declared),
          },
          body: stream,
          duplex: "half",
        } as RequestInit),
      );
      expect(res.status, `declared ${declared}`).toBe(status);
    }
    const missing = await exports.default.fetch(
      new Request(`${ORIGIN}/v1/chats/${chatId}/attachments?name=a.png`, {
        method: "POST",
        headers: { Authorization: `Bearer ${alice.token}`, "Content-Type": "image/png" },
        body: new ReadableStream({
          start(ctl) {
            ctl.enqueue(PNG);
            ctl.close();
          },
        }),
        duplex: "half",
      } as RequestInit),
    );
    expect(missing.status).toBe(400);
    expect(await keysOf(chatId)).toEqual(before);
  });

  it("cleans the file name: no path, no control characters, no header injection", async () => {
    const file = await uploaded(
      alice,
      chatId,
      PDF,
      "application/pdf",
      '../../etc/"evil\r\nSet-Cookie: x=1\u202Efdp.exe',
    );
    expect(file.name).toBe('"evilSet-Cookie: x=1fdp.exe');
    const res = await download(alice, chatId, file.id);
    expect(res.headers.get("Set-Cookie")).toBeNull();
    const disposition = res.headers.get("Content-Disposition") as string;
    expect(disposition).toBe(
      `attachment; filename="_evilSet-Cookie: x=1fdp.exe"; filename*=UTF-8''%22evilSet-Cookie%3A%20x%3D1fdp.exe`,
    );
    const long = await uploaded(alice, chatId, PDF, "application/pdf", `${"é".repeat(200)}.pdf`);
    expect(new TextEncoder().encode(long.name).byteLength).toBeLessThanOrEqual(255);
    expect(long.name).toBe("é".repeat(127));
  });

  it("sends only the sender's own finished upload of this chat, once", async () => {
    const mine = await uploaded(alice, chatId, PNG, "image/png");
    const theirs = await uploaded(bob, chatId, PNG, "image/png");
    const [carl] = await users("carl");
    const other = await openDirect(alice, carl);
    const elsewhere = await uploaded(alice, other, PNG, "image/png");
    expect(await sendFile(a, chatId, theirs.id)).toMatchObject({ type: "error", code: "not_found" });
    expect(await sendFile(a, chatId, elsewhere.id)).toMatchObject({ type: "error", code: "not_found" });
    // Not sent yet: only its uploader may fetch it.
    expect((await download(alice, chatId, mine.id)).status).toBe(200);
    expect((await download(bob, chatId, mine.id)).status).toBe(404);
    expect((await sendFile(a, chatId, mine.id)).type).toBe("ack");
    expect(await sendFile(a, chatId, mine.id)).toMatchObject({ type: "error", code: "bad_request" });
    expect((await download(bob, chatId, mine.id)).status).toBe(200);
    for (const bad of [
      { kind: "attachment", body: "no file" },
      { body: "text with a file", attachment: { id: mine.id } },
      { kind: "attachment", attachment: { id: "../../x" }, body: "" },
    ]) {
      expect(
        await a.request({ type: "send", chatId, clientMsgId: unique("b"), ...bad }),
        JSON.stringify(bad),
      ).toMatchObject({
        type: "error",
        code: "bad_request",
      });
    }
  });

  it("an outsider and a removed member get no byte of the file", async () => {
    const [owner, ann] = await users("owner", "ann");
    const group = await createGroup(owner, "files", [ann.id]);
    const o = (await connect(owner.token, "phone")).socket;
    const secret = new TextEncoder().encode(`${unique("SECRETBYTES")} in a text file`);
    const file = await uploaded(owner, group, secret, "text/plain", "notes.txt");
    expect((await sendFile(o, group, file.id)).type).toBe("ack");
    expect((await download(ann, group, file.id)).status).toBe(200);
    expect((await api(owner.token, "DELETE", `/v1/chats/${group}/members/${ann.id}`)).status).toBe(200);
    for (const who of [ann, eve]) {
      const res = await download(who, group, file.id, { Range: "bytes=0-5" });
      expect(res.status).toBe(403);
      expect(await res.text()).not.toContain("SECRETBYTES");
    }
    o.close();
  });

  it("an upload no message names is deleted by the chat's alarm after 24 hours", async () => {
    const file = await uploaded(alice, chatId, PNG, "image/png");
    const kept = await uploaded(alice, chatId, PNG, "image/png");
    expect(await keysOf(chatId)).toContain(`chats/${chatId}/${file.id}`);
    await runInDurableObject(chatStub(chatId), (_i, state) => {
      state.storage.sql.exec("UPDATE attachments SET created_at = created_at - 86400001 WHERE id = ?", file.id);
    });
    expect(await runDurableObjectAlarm(chatStub(chatId))).toBe(true);
    const keys = await keysOf(chatId);
    expect(keys).not.toContain(`chats/${chatId}/${file.id}`);
    expect(keys).toContain(`chats/${chatId}/${kept.id}`);
    expect((await download(alice, chatId, file.id)).status).toBe(404);
    expect(await sendFile(a, chatId, file.id)).toMatchObject({ type: "error", code: "not_found" });
    // The younger upload keeps the alarm set for its own expiry.
    const next = await runInDurableObject(chatStub(chatId), (_i, state) => state.storage.getAlarm());
    expect(next).not.toBeNull();
  });

  it("delete for everyone deletes the bytes; an edit changes the caption", async () => {
    const file = await uploaded(alice, chatId, PNG, "image/png");
    const ack = await sendFile(a, chatId, file.id, "first caption");
    const seq = ack.seq as number;
    expect(
      (await a.request({ type: "send", chatId, clientMsgId: unique("e"), kind: "edit", target: seq, body: "better" }))
        .type,
    ).toBe("ack");
    const row = (await history(bob.token, chatId, `after=${seq - 1}&limit=1`)).messages[0] as Message;
    expect(row).toMatchObject({ body: "better", edited: true, attachment: file });
    expect(
      (await a.request({ type: "send", chatId, clientMsgId: unique("d"), kind: "delete", target: seq, body: "" })).type,
    ).toBe("ack");
    expect(await env.ATTACHMENTS.head(`chats/${chatId}/${file.id}`)).toBeNull();
    expect((await download(bob, chatId, file.id)).status).toBe(404);
    const gone = (await history(bob.token, chatId, `after=${seq - 1}&limit=1`)).messages[0] as Message;
    expect(gone).toMatchObject({ deleted: true, body: "" });
    expect(gone.attachment).toBeUndefined();
  });
});
