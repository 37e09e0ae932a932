/**
 * Bad frames: each gets an `error` frame with the right code, stores nothing, and leaves the
 * socket usable (a ping right after still gets its pong). Only a frame over 128 KiB closes it.
 */
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES, MAX_FRAME_BYTES, PING, PONG } from "../protocol";
import { connect, history, openDirect, storedSeqs, user } from "./helpers/client";

type Bad = { label: string; raw: string | Uint8Array; code: "bad_request" | "too_large"; id?: string };

function badFrames(chatId: string): Bad[] {
  const send = (extra: Record<string, unknown>) =>
    JSON.stringify({ type: "send", chatId, clientMsgId: "c1", body: "hi", ...extra });
  const j = (v: unknown) => JSON.stringify(v);
  return [
    { label: "not JSON", raw: "hello", code: "bad_request" },
    { label: "truncated JSON", raw: '{"type":"send",', code: "bad_request" },
    { label: "empty text", raw: "", code: "bad_request" },
    { label: "JSON array", raw: "[1,2,3]", code: "bad_request" },
    { label: "JSON number", raw: "42", code: "bad_request" },
    { label: "JSON string", raw: '"ping"', code: "bad_request" },
    { label: "JSON null", raw: "null", code: "bad_request" },
    { label: "unknown type", raw: j({ type: "shout", id: "u1" }), code: "bad_request", id: "u1" },
    { label: "server-only type", raw: j({ type: "ack", id: "u2" }), code: "bad_request", id: "u2" },
    { label: "missing type", raw: j({ chatId, body: "x", id: "u3" }), code: "bad_request", id: "u3" },
    { label: "type not a string", raw: j({ type: 7, id: "u4" }), code: "bad_request", id: "u4" },
    { label: "send without fields", raw: j({ type: "send", id: "f1" }), code: "bad_request", id: "f1" },
    {
      label: "send without body",
      raw: j({ type: "send", chatId, clientMsgId: "c1", id: "f2" }),
      code: "bad_request",
      id: "f2",
    },
    {
      label: "send without chatId",
      raw: j({ type: "send", clientMsgId: "c1", body: "x", id: "f3" }),
      code: "bad_request",
      id: "f3",
    },
    { label: "body a number", raw: send({ body: 5, id: "w1" }), code: "bad_request", id: "w1" },
    { label: "body null", raw: send({ body: null, id: "w2" }), code: "bad_request", id: "w2" },
    { label: "chatId a number", raw: send({ chatId: 1, id: "w3" }), code: "bad_request", id: "w3" },
    { label: "clientMsgId a number", raw: send({ clientMsgId: 1, id: "w4" }), code: "bad_request", id: "w4" },
    { label: "clientMsgId empty", raw: send({ clientMsgId: "", id: "w5" }), code: "bad_request", id: "w5" },
    {
      label: "clientMsgId too long",
      raw: send({ clientMsgId: "c".repeat(65), id: "w6" }),
      code: "bad_request",
      id: "w6",
    },
    { label: "bad chatId", raw: send({ chatId: "general", id: "w7" }), code: "bad_request", id: "w7" },
    { label: "direct chatId out of order", raw: send({ chatId: "d~zz~aa", id: "w8" }), code: "bad_request", id: "w8" },
    { label: "extra field on send", raw: send({ priority: "high", id: "x1" }), code: "bad_request", id: "x1" },
    { label: "extra field on ping", raw: j({ type: "ping", extra: 1, id: "x2" }), code: "bad_request", id: "x2" },
    { label: "id not a string", raw: j({ type: "ping", id: 5 }), code: "bad_request" },
    { label: "id too long", raw: j({ type: "ping", id: "i".repeat(65) }), code: "bad_request" },
    {
      label: "received with negative seq",
      raw: j({ type: "received", chatId, seq: -1, id: "r1" }),
      code: "bad_request",
      id: "r1",
    },
    {
      label: "read with fractional seq",
      raw: j({ type: "read", chatId, seq: 1.5, id: "r2" }),
      code: "bad_request",
      id: "r2",
    },
    { label: "typing without on", raw: j({ type: "typing", chatId, id: "t1" }), code: "bad_request", id: "t1" },
    {
      label: "watch with a bad user id",
      raw: j({ type: "watch", userIds: ["a b"], id: "t2" }),
      code: "bad_request",
      id: "t2",
    },
    {
      label: "history after and before",
      raw: j({ type: "history", chatId, after: 1, before: 5, id: "h1" }),
      code: "bad_request",
      id: "h1",
    },
    { label: "binary frame", raw: new TextEncoder().encode(send({})), code: "bad_request" },
    {
      label: "body over 65,536 bytes",
      raw: send({ body: "x".repeat(MAX_BODY_BYTES + 1), id: "big1" }),
      code: "too_large",
      id: "big1",
    },
    {
      // 32,769 two-byte characters: under the limit in UTF-16 units, over it in UTF-8 bytes.
      label: "body over 65,536 UTF-8 bytes",
      raw: send({ body: "é".repeat(MAX_BODY_BYTES / 2 + 1), id: "big2" }),
      code: "too_large",
      id: "big2",
    },
  ];
}

describe("bad frames", () => {
  it("each bad frame gets an error frame, stores nothing, and a ping still gets its pong", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const { socket } = await connect(alice.token, "phone");
    const b = (await connect(bob.token, "phone")).socket;
    const cases = badFrames(chatId);
    for (const bad of cases) {
      if (typeof bad.raw === "string") socket.send(bad.raw);
      else socket.sendBinary(bad.raw);
      const error = await socket.next((f) => f.type === "error" || f.type === "ack");
      expect(error.type, bad.label).toBe("error");
      expect(error.code, bad.label).toBe(bad.code);
      expect(typeof error.message, bad.label).toBe("string");
      expect(String(error.message), bad.label).not.toMatch(/\bat\s+\S+\s+\(|stack|\.ts:\d+/);
      if (bad.id) expect(error.id, bad.label).toBe(bad.id);
      else expect(error.id, bad.label).toBeUndefined();
      socket.send(PING);
      const pong = await socket.next((f) => f.type === "pong");
      expect(JSON.stringify(pong), bad.label).toBe(PONG);
    }
    expect(socket.all("error")).toHaveLength(cases.length);
    expect(socket.closed).toBeNull();
    expect(await storedSeqs(chatId)).toEqual([]);
    expect(b.all("message")).toHaveLength(0);

    // The socket is fully usable afterwards: a good send is seq 1.
    const ack = await socket.request({ type: "send", chatId, clientMsgId: "c1", body: "finally" });
    expect(ack).toMatchObject({ type: "ack", seq: 1 });
    expect((await history(bob.token, chatId)).messages.map((m) => m.body)).toEqual(["finally"]);
    for (const s of [socket, b]) s.close();
  });

  it("a body of exactly 65,536 bytes is accepted", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const { socket } = await connect(alice.token, "phone");
    const body = "é".repeat(MAX_BODY_BYTES / 2);
    const ack = await socket.request({ type: "send", chatId, clientMsgId: "edge", body });
    expect(ack).toMatchObject({ type: "ack", seq: 1 });
    expect((await history(bob.token, chatId)).messages[0]?.body).toBe(body);
    socket.close();
  });

  it("a ping with an id gets a pong with that id", async () => {
    const alice = await user("alice");
    const { socket } = await connect(alice.token, "phone");
    socket.send({ type: "ping", id: "p-1" });
    expect(await socket.next("pong")).toEqual({ type: "pong", id: "p-1" });
    socket.send(PING);
    expect(await socket.next("pong")).toEqual({ type: "pong" });
    socket.close();
  });

  it("a frame over 128 KiB closes the socket with 1009, and other sockets are untouched", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const { socket } = await connect(alice.token, "phone");
    const other = (await connect(alice.token, "laptop")).socket;
    socket.send(JSON.stringify({ type: "send", chatId, clientMsgId: "huge", body: "x".repeat(MAX_FRAME_BYTES) }));
    const closed = await socket.waitClosed();
    expect(closed.code).toBe(1009);
    expect(await storedSeqs(chatId)).toEqual([]);
    other.send(PING);
    expect(await other.next("pong")).toEqual({ type: "pong" });
    other.close();
  });

  it("a binary frame over 128 KiB closes the socket with 1009 too", async () => {
    const alice = await user("alice");
    const { socket } = await connect(alice.token, "phone");
    socket.sendBinary(new Uint8Array(MAX_FRAME_BYTES + 1));
    expect((await socket.waitClosed()).code).toBe(1009);
  });
});
