/**
 * The client SDK against a real local server: the outbox across lost connections, gap repair,
 * catching up from persisted cursors, and a fresh token on every reconnect.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ChatClient, memoryStorage } from "../../client";
import {
  base,
  client,
  closeClients,
  mintToken,
  record,
  sendHttp,
  stored,
  TestNetwork,
  until,
  user,
  waitOpen,
} from "./sdk-fixtures";

afterEach(closeClients);

describe("outbox", () => {
  it("a message whose ack was lost with the connection is resent and stored exactly once", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const a = client(alice);
    const chatId = await a.client.createDirectChat(bob.id);
    // The server stores the message, then the connection dies before its ack gets through.
    let cuts = 0;
    a.net.filter = (f) => (f.type === "ack" && cuts++ === 0 ? "cut" : "pass");
    a.client.connect();
    await waitOpen(a.rec);
    const result = await a.client.send(chatId, "exactly once", { clientMsgId: "once-1" });

    expect(a.net.dropped.filter((f) => f.type === "ack")).toHaveLength(1);
    expect(a.net.sockets.length).toBeGreaterThanOrEqual(2);
    const sends = a.net.sentFrames().filter((f) => f.includes('"once-1"'));
    expect(sends.length).toBeGreaterThanOrEqual(2);
    const log = await stored(alice, chatId);
    expect(log.filter((m) => m.clientMsgId === "once-1")).toHaveLength(1);
    expect(log.map((m) => m.body)).toEqual(["exactly once"]);
    expect(result).toMatchObject({ chatId, clientMsgId: "once-1", seq: 1 });
    await until(() => a.rec.messages.length === 1, "own message delivered to the app");
    expect(a.rec.messages.map((m) => [m.seq, m.body, m.sender])).toEqual([[1, "exactly once", alice.id]]);
    expect(a.rec.ticks.filter((t) => t.status === "sent")).toEqual([
      { chatId, seq: 1, clientMsgId: "once-1", status: "sent" },
    ]);
  });

  it("sends made while offline go out in order after the reconnect, each stored once", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const a = client(alice);
    const chatId = await a.client.createDirectChat(bob.id);
    a.client.connect();
    await waitOpen(a.rec);
    a.net.offline = true;
    a.net.cut();
    await until(() => a.client.state !== "open", "client notices the lost connection");
    const sends = ["one", "two", "three"].map((body) => a.client.send(chatId, body));
    a.net.offline = false;
    const results = await Promise.all(sends);

    expect(results.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect((await stored(alice, chatId)).map((m) => m.body)).toEqual(["one", "two", "three"]);
    await until(() => a.rec.messages.length === 3, "three own messages delivered");
    expect(a.rec.messages.map((m) => m.body)).toEqual(["one", "two", "three"]);
  });

  it("a send the server refuses rejects with its code and leaves the outbox", async () => {
    const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
    const b = client(bob);
    const chatId = await b.client.createDirectChat(carol.id);
    const a = client(alice);
    a.client.connect();
    await waitOpen(a.rec);
    await expect(a.client.send(chatId, "let me in")).rejects.toMatchObject({ code: "forbidden" });
    expect(a.client.pending()).toEqual([]);
    await expect(a.client.send(chatId, "x".repeat(70_000))).rejects.toMatchObject({ code: "too_large" });
  });
});

describe("sync", () => {
  it("fills a seq gap from history and delivers every message once, in order", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const b = client(bob);
    const chatId = await b.client.createDirectChat(alice.id);
    b.client.connect();
    await waitOpen(b.rec);
    // Bob's socket loses the pushes of seq 1-3 (as if dropped on the way); seq 4 gets through.
    b.net.filter = (f) => (f.type === "message" && Number(f.seq) <= 3 ? "drop" : "pass");
    for (const body of ["m1", "m2", "m3"]) await sendHttp(alice, chatId, body);
    await until(() => b.net.dropped.length === 3, "three pushes dropped");
    expect(b.rec.messages).toEqual([]);
    await sendHttp(alice, chatId, "m4");
    await until(() => b.rec.messages.length >= 4, "four messages delivered");

    expect(b.rec.messages.map((m) => [m.seq, m.body])).toEqual([
      [1, "m1"],
      [2, "m2"],
      [3, "m3"],
      [4, "m4"],
    ]);
    expect(b.net.sentFrames().some((f) => f.includes('"type":"history"'))).toBe(true);
    expect(b.client.cursor(chatId)).toBe(4);
  });

  it("after a disconnect it catches up from its stored cursor, with no repeats", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const storage = memoryStorage();
    const first = client(bob, { storage, deviceId: "bob-laptop" });
    const chatId = await first.client.createDirectChat(alice.id);
    first.client.connect();
    await waitOpen(first.rec);
    await sendHttp(alice, chatId, "before");
    await until(() => first.rec.messages.length === 1, "first message");
    first.client.close();

    for (const body of ["while away 1", "while away 2", "while away 3"]) await sendHttp(alice, chatId, body);
    // A new client on the same device and storage, as after a restart.
    const second = client(bob, { storage, deviceId: "bob-laptop" });
    expect(second.client.cursor(chatId)).toBe(1);
    second.client.connect();
    await sendHttp(alice, chatId, "live");
    await until(() => second.rec.messages.length >= 4, "four messages after the reconnect");

    expect(second.rec.messages.map((m) => m.body)).toEqual(["while away 1", "while away 2", "while away 3", "live"]);
    expect(second.rec.messages.map((m) => m.seq)).toEqual([2, 3, 4, 5]);
  });

  it("a reconnect while messages are pushed still delivers each exactly once", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const a = client(alice);
    const b = client(bob);
    const chatId = await a.client.createDirectChat(bob.id);
    a.client.connect();
    b.client.connect();
    await Promise.all([waitOpen(a.rec), waitOpen(b.rec)]);
    const sends: Promise<unknown>[] = [];
    for (let i = 1; i <= 30; i++) {
      sends.push(a.client.send(chatId, `n${i}`));
      if (i % 10 === 0) b.net.cut();
    }
    await Promise.all(sends);
    await until(() => b.rec.messages.length >= 30, "thirty messages at Bob");

    expect(b.rec.messages.map((m) => m.body)).toEqual(Array.from({ length: 30 }, (_, i) => `n${i + 1}`));
    expect(b.rec.messages.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});

describe("connection", () => {
  it("asks for a fresh token before every connect and uses it", async () => {
    const bob = await user("bob");
    const net = new TestNetwork();
    const issued: string[] = [];
    const c = new ChatClient({
      baseUrl: base,
      userId: bob.id,
      deviceId: "token-test",
      createSocket: net.createSocket,
      backoff: { baseMs: 20, maxMs: 100 },
      // The first token is rejected (as an expired one would be); later calls answer valid ones.
      getToken: async () => {
        const token = issued.length === 0 ? "not-a-valid-token" : await mintToken(bob.id, `n${issued.length}`);
        issued.push(token);
        return token;
      },
    });
    const rec = record(c);
    try {
      c.connect();
      await waitOpen(rec);
      expect(issued.length).toBeGreaterThanOrEqual(2);
      expect(tokenIn(net.urls[0])).toBe("not-a-valid-token");
      expect(tokenIn(net.urls.at(-1))).toBe(issued.at(-1));

      const before = issued.length;
      net.cut();
      await waitOpen(rec, 2);
      expect(issued.length).toBe(before + 1);
      expect(tokenIn(net.urls.at(-1))).toBe(issued.at(-1));
      expect(new Set(issued).size).toBe(issued.length);
    } finally {
      c.close();
    }
  });

  it("pings with the exact bytes the server answers without waking the object", async () => {
    const bob = await user("bob");
    const b = client(bob, { pingIntervalMs: 50 });
    b.client.connect();
    await waitOpen(b.rec);
    await until(() => b.net.received.some((f) => f.type === "pong"), "a pong");
    expect(b.net.sentFrames()).toContain('{"type":"ping"}');
    expect(b.client.state).toBe("open");
  });
});

function tokenIn(url: string | undefined): string | null {
  return url ? new URL(url).searchParams.get("token") : null;
}
