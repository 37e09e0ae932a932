/**
 * Abuse limits, each an operator setting with a default: sends per user per second (a token
 * bucket shared by a user's sockets and HTTP sends), sockets per user, frame size, and
 * messages per history request.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_SOCKETS_PER_USER,
  DEFAULT_SEND_BURST,
  DEFAULT_SEND_RATE_PER_SECOND,
  settingsOf,
} from "../objects/settings";
import { TokenBucket } from "../objects/user/rate-limit";
import { MAX_FRAME_BYTES, MAX_HISTORY_LIMIT, type Message } from "../protocol";
import { api, connect, type TestSocket, upgrade, user } from "./helpers/client";

type User = { id: string; token: string };
const settings = settingsOf(env);

async function openDirect(me: User, peer: User): Promise<string> {
  const res = await api(me.token, "POST", "/v1/chats", { type: "direct", with: peer.id });
  expect(res.status).toBe(200);
  return ((await res.json()) as { chatId: string }).chatId;
}

async function fullHistory(token: string, chatId: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let page = 0; page < 100; page++) {
    const res = await api(token, "GET", `/v1/chats/${chatId}/messages?after=${out.at(-1)?.seq ?? 0}&limit=500`);
    const body = (await res.json()) as { messages: Message[]; more: boolean };
    out.push(...body.messages);
    if (!body.more) break;
  }
  return out;
}

/** Pipelines `count` sends; answers, per send, the ack or error frame that echoes its id. */
async function flood(socket: TestSocket, chatId: string, prefix: string, count: number) {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const answers = ids.map((id) => socket.next((f) => f.id === id, 20_000));
  for (const id of ids) socket.send({ type: "send", id, chatId, clientMsgId: id, body: `flood ${id}` });
  return Promise.all(answers);
}

describe("settings", () => {
  it("defaults: 20 sends/s with bursts of 100, 10 sockets per user, any origin", () => {
    const defaults = settingsOf({});
    expect(defaults).toMatchObject({
      sendRatePerSecond: DEFAULT_SEND_RATE_PER_SECOND,
      sendBurst: DEFAULT_SEND_BURST,
      maxSocketsPerUser: DEFAULT_MAX_SOCKETS_PER_USER,
      allowedOrigins: null,
    });
    expect([DEFAULT_SEND_RATE_PER_SECOND, DEFAULT_SEND_BURST, DEFAULT_MAX_SOCKETS_PER_USER]).toEqual([20, 100, 10]);
    // A malformed value falls back to the default instead of disabling the limit.
    expect(settingsOf({ SEND_BURST: "0", SEND_RATE_PER_SECOND: "lots", MAX_SOCKETS_PER_USER: "-3" })).toMatchObject({
      sendBurst: 100,
      sendRatePerSecond: 20,
      maxSocketsPerUser: 10,
    });
    expect(settingsOf({ SEND_BURST: "7" }).sendBurst).toBe(7);
  });

  it("the token bucket allows a burst, then the rate, and never more", () => {
    let now = 1_000;
    const bucket = new TokenBucket(20, 100, () => now);
    const first = Array.from({ length: 150 }, () => bucket.take());
    expect(first.filter(Boolean)).toHaveLength(100);
    expect(first.slice(0, 100).every(Boolean)).toBe(true);
    now += 500; // 10 tokens
    expect(Array.from({ length: 20 }, () => bucket.take()).filter(Boolean)).toHaveLength(10);
    now -= 10_000; // a clock going back adds nothing
    expect(bucket.take()).toBe(false);
    now += 60_000; // a long pause refills only up to the burst
    expect(Array.from({ length: 200 }, () => bucket.take()).filter(Boolean)).toHaveLength(100);
  });
});

describe("sends per user per second", () => {
  it("a socket flood gets rate_limited errors for the refused sends, stores only the acked, and spares other users", async () => {
    const [alice, bob, carol, dave] = await Promise.all([user("alice"), user("bob"), user("carol"), user("dave")]);
    const chatAB = await openDirect(alice, bob);
    const chatCD = await openDirect(carol, dave);
    const a = (await connect(alice.token, "phone")).socket;
    const c = (await connect(carol.token, "phone")).socket;

    const count = settings.sendBurst + 300;
    const started = Date.now();
    const floodAnswers = flood(a, chatAB, "a", count);
    const carolAnswers = flood(c, chatCD, "c", 50);
    const answers = await floodAnswers;
    const elapsedS = (Date.now() - started) / 1000;

    const acked = answers.filter((f) => f.type === "ack");
    const refused = answers.filter((f) => f.type === "error");
    expect(acked.length + refused.length).toBe(count);
    for (const f of refused) expect(f).toMatchObject({ code: "rate_limited" });
    // The bucket starts full: the first burst is never refused.
    expect(answers.slice(0, settings.sendBurst).every((f) => f.type === "ack")).toBe(true);
    expect(acked.length).toBeLessThanOrEqual(settings.sendBurst + Math.ceil(elapsedS * settings.sendRatePerSecond) + 1);
    expect(refused.length).toBeGreaterThan(0);

    // Nothing refused was stored; what was acked was, under its ack's seq.
    const stored = await fullHistory(bob.token, chatAB);
    expect(stored.map((m) => m.clientMsgId).sort()).toEqual(acked.map((f) => f.clientMsgId as string).sort());

    // Carol, flooding nothing, was not slowed by Alice's flood.
    expect((await carolAnswers).every((f) => f.type === "ack")).toBe(true);

    // Refused sends are resent later with the same clientMsgId and go through.
    await new Promise((r) => setTimeout(r, 300));
    const again = refused[0]?.id as string;
    const ack = await a.request({ type: "send", chatId: chatAB, clientMsgId: again, body: "later" });
    expect(ack).toMatchObject({ type: "ack", clientMsgId: again, seq: acked.length + 1 });
    a.close();
    c.close();
  });

  it("HTTP sends share the user's bucket: over it they get 429 rate_limited and store nothing", async () => {
    const [erin, frank, gina] = await Promise.all([user("erin"), user("frank"), user("gina")]);
    const chatEF = await openDirect(erin, frank);
    const chatGF = await openDirect(gina, frank);

    // Erin spends her burst over a socket, then goes on over HTTP.
    const e = (await connect(erin.token, "laptop")).socket;
    const viaSocket = await flood(e, chatEF, "ws", settings.sendBurst);
    expect(viaSocket.every((f) => f.type === "ack")).toBe(true);
    const count = 150;
    const responses = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        api(erin.token, "POST", `/v1/chats/${chatEF}/messages`, { clientMsgId: `http-${i}`, body: `http ${i}` }),
      ),
    );
    const ok = responses.filter((r) => r.status === 200).length;
    const limited = responses.filter((r) => r.status === 429);
    expect(ok + limited.length).toBe(count);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) expect(await r.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect(await fullHistory(frank.token, chatEF)).toHaveLength(settings.sendBurst + ok);

    // Gina's HTTP sends, meanwhile, all go through.
    const gina200 = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api(gina.token, "POST", `/v1/chats/${chatGF}/messages`, { clientMsgId: `g-${i}`, body: "hi" }),
      ),
    );
    expect(gina200.map((r) => r.status)).toEqual(Array(20).fill(200));
    e.close();
  });
});

describe("sockets per user", () => {
  it("a new device over the limit gets 429; a known device reconnecting replaces its socket", async () => {
    const max = settings.maxSocketsPerUser;
    const hank = await user("hank");
    const sockets: TestSocket[] = [];
    for (let i = 0; i < max; i++) sockets.push((await connect(hank.token, `dev-${i}`)).socket);

    const over = await upgrade(`/v1/connect?device=one-too-many`, { Authorization: `Bearer ${hank.token}` });
    expect(over.status).toBe(429);
    expect(await over.json()).toMatchObject({ error: { code: "rate_limited" } });

    // dev-3 reconnecting is not a new device: it gets in and its old socket is closed.
    const again = await connect(hank.token, "dev-3");
    expect((await sockets[3]?.waitClosed())?.code).toBe(4000);

    // Once a device leaves, a new one may come in (its close may take a moment to land).
    sockets[0]?.close();
    await sockets[0]?.waitClosed();
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 101; attempt++) {
      const res = await upgrade(`/v1/connect?device=newcomer`, { Authorization: `Bearer ${hank.token}` });
      status = res.status;
      if (status === 101) res.webSocket?.accept();
      else await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(101);
    again.socket.close();
    for (const s of sockets) s.close();
  });
});

describe("floods", () => {
  it("a socket that keeps sending through its rate_limited errors is closed with 1008; others are unaffected", async () => {
    const flooder = await user("flooder");
    const peer = await user("peer");
    const chatId = await openDirect(flooder, peer);
    const phone = (await connect(flooder.token, "phone")).socket;
    const p = (await connect(peer.token, "phone")).socket;
    const total = settings.sendBurst + settings.floodCloseAfter + 50;
    for (let i = 0; i < total && !phone.closed; i++) {
      phone.send({ type: "send", chatId, clientMsgId: `f${i}`, body: "x" });
    }
    expect((await phone.waitClosed(30_000)).code).toBe(1008);
    const limited = phone.frames.filter((f) => f.type === "error" && f.code === "rate_limited").length;
    expect(limited).toBe(settings.floodCloseAfter);
    // The peer's socket and the flooder's other devices still work.
    expect(await p.request({ type: "send", chatId, clientMsgId: "calm", body: "still here" })).toMatchObject({
      type: "ack",
    });
    p.close();
  }, 60_000);
});

describe("sockets per user, zombies", () => {
  it("sockets silent for 60 s (gone without a close) do not hold places", async () => {
    const { runInDurableObject } = await import("cloudflare:test");
    const max = settings.maxSocketsPerUser;
    const zed = await user("zed");
    const sockets: TestSocket[] = [];
    for (let i = 0; i < max; i++) sockets.push((await connect(zed.token, `dev-${i}`)).socket);
    const over = await upgrade(`/v1/connect?device=late`, { Authorization: `Bearer ${zed.token}` });
    expect(over.status).toBe(429);
    const long = Date.now() - 61_000;
    await runInDurableObject(env.USER.get(env.USER.idFromName(zed.id)), (_i, state) => {
      for (const ws of state.getWebSockets()) {
        ws.serializeAttachment({ ...(ws.deserializeAttachment() as object), lastHeard: long });
      }
    });
    const late = await connect(zed.token, "late");
    expect(late.ready).toMatchObject({ type: "ready", deviceId: "late" });
    late.socket.close();
    for (const s of sockets) s.close();
  });
});

describe("frame size", () => {
  it(`a frame of ${MAX_FRAME_BYTES} bytes is read (and refused as bad JSON); one byte more closes with 1009`, async () => {
    const ivy = await user("ivy");
    const { socket } = await connect(ivy.token, "phone");
    socket.send("x".repeat(MAX_FRAME_BYTES));
    expect(await socket.next("error")).toMatchObject({ code: "bad_request" });
    expect(socket.closed).toBeNull();
    socket.send("x".repeat(MAX_FRAME_BYTES + 1));
    expect((await socket.waitClosed()).code).toBe(1009);
  });

  it("size is counted in UTF-8 bytes, and binary frames are bounded the same way", async () => {
    const jay = await user("jay");
    const text = (await connect(jay.token, "phone")).socket;
    // 70,000 characters, 140,000 bytes.
    text.send("é".repeat(70_000));
    expect((await text.waitClosed()).code).toBe(1009);
    const binary = (await connect(jay.token, "tablet")).socket;
    binary.ws.send(new Uint8Array(MAX_FRAME_BYTES + 1));
    expect((await binary.waitClosed()).code).toBe(1009);
  });
});

describe("messages per history request", () => {
  it(`limit is capped at ${MAX_HISTORY_LIMIT} over HTTP and over the socket; the default is 50`, async () => {
    const [kim, lee] = await Promise.all([user("kim"), user("lee")]);
    const chatId = await openDirect(kim, lee);
    // Seeded straight into the chat object, so the send limit does not slow the test down.
    const chat = env.CHAT.get(env.CHAT.idFromName(chatId));
    const items = Array.from({ length: 600 }, (_, i) => ({ clientMsgId: `seed-${i}`, body: `m${i + 1}` }));
    const seeded = await chat.send(chatId, kim.id, items);
    expect(seeded.ok).toBe(true);

    const get = async (query: string) =>
      (await (await api(lee.token, "GET", `/v1/chats/${chatId}/messages?${query}`)).json()) as {
        messages: Message[];
        more: boolean;
      };
    const capped = await get("after=0&limit=100000");
    expect(capped.messages).toHaveLength(MAX_HISTORY_LIMIT);
    expect(capped.messages.map((m) => m.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(capped.more).toBe(true);
    const up = await get("before=601&limit=100000");
    expect(up.messages).toHaveLength(MAX_HISTORY_LIMIT);
    expect(up.messages[0]?.seq).toBe(600);
    expect((await get("")).messages).toHaveLength(50);
    const tail = await get("after=100&limit=100000");
    expect(tail.messages).toHaveLength(500);
    expect(tail.more).toBe(false);

    const { socket } = await connect(lee.token, "phone");
    const page = await socket.request({ type: "history", chatId, after: 0, limit: 100_000 });
    expect(page.messages as Message[]).toHaveLength(MAX_HISTORY_LIMIT);
    expect(page.more).toBe(true);
    socket.close();
  });
});
