/**
 * Web Push from the user object: subscriptions checked and stored, one push per chat for a burst
 * (newest message, encrypted and padded, VAPID-signed, TTL and Topic), none for connected devices,
 * own messages, muted chats or blocked senders (whose message in a notice hides no one else's);
 * 410 forgets the subscription, 429 waits for `Retry-After`; a waiting push survives a restart.
 * The push service is a stub of the isolate's `fetch`; the alarms are driven, not waited for.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { api, connect, json, openDirect, type TestSocket, unique } from "./helpers/client";
import { evict } from "./helpers/evict";
import { createGroup, fanoutSettled, type User, users } from "./helpers/groups";
import { b64url, decryptPush, newSubscriber, type Subscriber, verifyVapid } from "./helpers/push-service";

const namespaces: Record<"CHAT" | "USER", DurableObjectNamespace> = env;
const userObject = (id: string) => namespaces.USER.get(namespaces.USER.idFromName(id));
const chatObject = (id: string) => namespaces.CHAT.get(namespaces.CHAT.idFromName(id));

interface Captured {
  url: string;
  headers: Headers;
  body: Uint8Array;
}

let captured: Captured[] = [];
let answer: (url: string) => Response = () => new Response(null, { status: 201 });
const realFetch = globalThis.fetch;

beforeEach(() => {
  captured = [];
  answer = () => new Response(null, { status: 201 });
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!req.url.startsWith("https://push.test/")) return realFetch(input, init);
    captured.push({ url: req.url, headers: req.headers, body: new Uint8Array(await req.arrayBuffer()) });
    return answer(req.url);
  };
});

afterEach(() => {
  globalThis.fetch = realFetch;
});

async function subscribe(u: User, deviceId: string, sub: Subscriber): Promise<Response> {
  return api(u.token, "PUT", `/v1/devices/${deviceId}/push`, {
    endpoint: `https://push.test/${u.id}/${deviceId}`,
    keys: sub.keys,
  });
}

/** Runs the user object's alarm as if every waiting push were due now. */
async function sendDuePushes(userId: string): Promise<void> {
  await runInDurableObject(userObject(userId), (_i, state) => {
    state.storage.sql.exec("UPDATE push_pending SET due_at = 0 WHERE payload IS NOT NULL");
  });
  await runDurableObjectAlarm(userObject(userId));
}

async function pending(userId: string): Promise<{ device_id: string; payload: string | null; due_at: number }[]> {
  return runInDurableObject(userObject(userId), (_i, state) =>
    state.storage.sql
      .exec<{ device_id: string; payload: string | null; due_at: number }>("SELECT * FROM push_pending")
      .toArray(),
  );
}

async function send(socket: TestSocket, chatId: string, body: string): Promise<number> {
  const ack = await socket.request({ type: "send", chatId, clientMsgId: unique("m"), body });
  if (ack.type !== "ack") throw new Error(JSON.stringify(ack));
  return ack.seq as number;
}

describe("web push", () => {
  it("checks subscriptions: https (or local http), a P-256 key, a 16-byte secret", async () => {
    const [bob] = await users("bob");
    const sub = await newSubscriber();
    const put = (body: unknown) => api(bob.token, "PUT", "/v1/devices/phone/push", body);
    const offCurve = new Uint8Array(65);
    offCurve[0] = 4;
    offCurve.fill(7, 1);
    const cases: [unknown, number][] = [
      [{ endpoint: "http://push.example.com/x", keys: sub.keys }, 400],
      [{ endpoint: "ftp://push.test/x", keys: sub.keys }, 400],
      [{ endpoint: "https://push.test/x", keys: { ...sub.keys, p256dh: b64url(offCurve) } }, 400],
      [{ endpoint: "https://push.test/x", keys: { ...sub.keys, auth: b64url(new Uint8Array(15)) } }, 400],
      [{ endpoint: "https://push.test/x", keys: sub.keys, extra: 1 }, 400],
      [{ endpoint: "https://push.test/x", expirationTime: null, keys: sub.keys }, 204],
      [{ endpoint: "http://127.0.0.1:9/x", keys: sub.keys }, 204],
    ];
    for (const [body, status] of cases) expect((await put(body)).status, JSON.stringify(body)).toBe(status);
    // One subscription per device, at most MAX_SOCKETS_PER_USER (10) devices.
    for (let i = 0; i < 9; i++) expect((await subscribe(bob, `d${i}`, sub)).status).toBe(204);
    expect((await subscribe(bob, "d9", sub)).status).toBe(429);
    expect((await subscribe(bob, "d0", sub)).status).toBe(204);
    expect((await api(bob.token, "DELETE", "/v1/devices/d0/push")).status).toBe(204);
    expect((await subscribe(bob, "d9", sub)).status).toBe(204);
    const key = await json<{ publicKey: string }>(await api(bob.token, "GET", "/v1/push/key"));
    expect(key.publicKey).toMatch(/^B[\w-]{86}$/);
  });

  it("an offline device gets one push for a burst: the newest message, encrypted, padded, signed", async () => {
    const [alice, bob] = await users("alice", "bob");
    const phone = await newSubscriber();
    expect((await subscribe(bob, "phone", phone)).status).toBe(204);
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    for (const body of ["one", "two"]) await send(a, chatId, body);
    const last = await send(a, chatId, "three, the newest");
    expect(await fanoutSettled(chatId)).toEqual([]);
    // Bob parked on the first message; the chat tells him of the newest in its next notice round.
    await runDurableObjectAlarm(chatObject(chatId));
    expect(await pending(bob.id)).toHaveLength(1);
    await sendDuePushes(bob.id);
    expect(captured).toHaveLength(1);
    const push = captured[0] as Captured;
    expect(push.url).toBe(`https://push.test/${bob.id}/phone`);
    expect(push.headers.get("Content-Encoding")).toBe("aes128gcm");
    expect(Number(push.headers.get("TTL"))).toBeGreaterThanOrEqual(3600);
    expect(push.headers.get("Topic")).toMatch(/^[\w-]{32}$/);
    const vapid = await verifyVapid(push.headers.get("Authorization"), push.url);
    expect(vapid.publicKey).toBe(
      (await json<{ publicKey: string }>(await api(bob.token, "GET", "/v1/push/key"))).publicKey,
    );
    expect(vapid.sub).toBe("mailto:dev@localhost");
    const { text, recordBytes } = await decryptPush(phone, push.body);
    expect(JSON.parse(text)).toEqual({ chatId, seq: last, sender: alice.id, kind: "text", body: "three, the newest" });
    // Padded to the largest record, whatever the message's length.
    expect(recordBytes).toBe(3_994);
    expect(push.body.byteLength).toBe(4_096);
    await sendDuePushes(bob.id);
    expect(captured).toHaveLength(1);
    a.close();
  });

  it("no push to a connected device, for one's own messages, or in a muted chat", async () => {
    const [alice, bob] = await users("alice", "bob");
    const sub = await newSubscriber();
    expect((await subscribe(bob, "phone", sub)).status).toBe(204);
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    await send(a, chatId, "while bob's phone is connected");
    await b.next((f) => f.type === "message");
    expect((await pending(bob.id)).filter((r) => r.payload)).toEqual([]);
    b.close();
    await b.waitClosed().catch(() => {});
    // Bob's own message, sent over HTTP while his phone is offline.
    const own = await api(bob.token, "POST", `/v1/chats/${chatId}/messages`, {
      clientMsgId: unique("own"),
      body: "mine",
    });
    expect(own.status).toBe(200);
    expect(await fanoutSettled(chatId)).toEqual([]);
    expect((await pending(bob.id)).filter((r) => r.payload)).toEqual([]);
    // Muted: nothing; unmuted: the next one.
    expect((await api(bob.token, "PUT", `/v1/chats/${chatId}/mute`, { until: null })).status).toBe(204);
    await send(a, chatId, "muted");
    await fanoutSettled(chatId);
    await runDurableObjectAlarm(chatObject(chatId));
    expect((await pending(bob.id)).filter((r) => r.payload)).toEqual([]);
    expect((await api(bob.token, "DELETE", `/v1/chats/${chatId}/mute`)).status).toBe(204);
    await send(a, chatId, "heard");
    await fanoutSettled(chatId);
    await runDurableObjectAlarm(chatObject(chatId));
    await sendDuePushes(bob.id);
    expect(captured).toHaveLength(1);
    expect(JSON.parse((await decryptPush(sub, (captured[0] as Captured).body)).text)).toMatchObject({ body: "heard" });
    a.close();
  });

  it("a member parked before it subscribed gets pushes once it does", async () => {
    const [alice, bob] = await users("alice", "bob");
    const res = await api(alice.token, "POST", "/v1/chats", { type: "group", title: "late", members: [bob.id] });
    const { chatId } = await json<{ chatId: string }>(res);
    const a = (await connect(alice.token, "phone")).socket;
    await send(a, chatId, "before bob took pushes");
    await fanoutSettled(chatId);
    const sub = await newSubscriber();
    expect((await subscribe(bob, "phone", sub)).status).toBe(204);
    await send(a, chatId, "after");
    await fanoutSettled(chatId);
    await runDurableObjectAlarm(chatObject(chatId));
    await sendDuePushes(bob.id);
    expect(captured).toHaveLength(1);
    expect(JSON.parse((await decryptPush(sub, (captured[0] as Captured).body)).text)).toMatchObject({ body: "after" });
    a.close();
  });

  it("a blocked sender's messages in a group push nothing; others' still do", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const sub = await newSubscriber();
    expect((await subscribe(bob, "phone", sub)).status).toBe(204);
    expect((await api(bob.token, "PUT", `/v1/users/${carol.id}/block`)).status).toBe(204);
    const res = await api(alice.token, "POST", "/v1/chats", {
      type: "group",
      title: "three",
      members: [bob.id, carol.id],
    });
    const { chatId } = await json<{ chatId: string }>(res);
    const c = (await connect(carol.token, "phone")).socket;
    await send(c, chatId, "from the blocked one");
    await fanoutSettled(chatId);
    await runDurableObjectAlarm(chatObject(chatId));
    expect((await pending(bob.id)).filter((r) => r.payload)).toEqual([]);
    const a = (await connect(alice.token, "phone")).socket;
    await send(a, chatId, "from alice");
    await fanoutSettled(chatId);
    await runDurableObjectAlarm(chatObject(chatId));
    await sendDuePushes(bob.id);
    expect(captured).toHaveLength(1);
    expect(JSON.parse((await decryptPush(sub, (captured[0] as Captured).body)).text)).toMatchObject({
      body: "from alice",
      title: "three",
    });
    for (const s of [a, c]) s.close();
  });

  /** Carol's group with Alice and Mallory: Alice, subscribed and offline, blocked Mallory and is parked. */
  async function parkedAliceBlockingMallory() {
    const [alice, carol, mallory] = await users("alice", "carol", "mallory");
    const sub = await newSubscriber();
    expect((await subscribe(alice, "phone", sub)).status).toBe(204);
    expect((await api(alice.token, "PUT", `/v1/users/${mallory.id}/block`)).status).toBe(204);
    const chatId = await createGroup(carol, "window", [alice.id, mallory.id]);
    // The group's creation reached Alice with no device connected: she is parked, with notices.
    expect(await fanoutSettled(chatId)).toEqual([]);
    const c = (await connect(carol.token, "phone")).socket;
    const m = (await connect(mallory.token, "phone")).socket;
    return { alice, carol, sub, chatId, c, m };
  }

  it("a blocked sender's message after another's in one notice window hides nothing: the other's is pushed", async () => {
    const { alice, carol, sub, chatId, c, m } = await parkedAliceBlockingMallory();
    const hi = await send(c, chatId, "hi from carol");
    await send(m, chatId, "from the blocked one");
    expect(await fanoutSettled(chatId)).toEqual([]);
    // Parked: nothing reached Alice's object yet; the notice round tells her of both.
    expect((await pending(alice.id)).filter((r) => r.payload)).toEqual([]);
    await runDurableObjectAlarm(chatObject(chatId));
    await sendDuePushes(alice.id);
    expect(captured).toHaveLength(1);
    expect(JSON.parse((await decryptPush(sub, (captured[0] as Captured).body)).text)).toEqual({
      chatId,
      seq: hi,
      sender: carol.id,
      kind: "text",
      title: "window",
      body: "hi from carol",
    });
    for (const s of [c, m]) s.close();
  });

  it("a notice window with only a blocked sender's messages pushes nothing; the next from another does", async () => {
    const { alice, sub, chatId, c, m } = await parkedAliceBlockingMallory();
    for (const body of ["blocked one", "blocked two"]) await send(m, chatId, body);
    expect(await fanoutSettled(chatId)).toEqual([]);
    await runDurableObjectAlarm(chatObject(chatId));
    await sendDuePushes(alice.id);
    expect(captured).toEqual([]);
    expect((await pending(alice.id)).filter((r) => r.payload)).toEqual([]);
    await send(c, chatId, "after them");
    expect(await fanoutSettled(chatId)).toEqual([]);
    await runDurableObjectAlarm(chatObject(chatId));
    await sendDuePushes(alice.id);
    expect(captured).toHaveLength(1);
    expect(JSON.parse((await decryptPush(sub, (captured[0] as Captured).body)).text)).toMatchObject({
      body: "after them",
    });
    for (const s of [c, m]) s.close();
  });

  it("429 waits for Retry-After, 410 forgets the subscription; a waiting push survives a restart", async () => {
    const [alice, bob] = await users("alice", "bob");
    const sub = await newSubscriber();
    expect((await subscribe(bob, "phone", sub)).status).toBe(204);
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    await send(a, chatId, "first");
    await fanoutSettled(chatId);
    expect(await pending(bob.id)).toHaveLength(1);
    // The object restarts before the push is due: the push is still there and goes.
    await evict(userObject(bob.id));
    answer = () => new Response(null, { status: 429, headers: { "Retry-After": "120" } });
    const before = Date.now();
    await sendDuePushes(bob.id);
    expect(captured).toHaveLength(1);
    const [row] = await pending(bob.id);
    expect(row?.payload).not.toBeNull();
    expect(row?.due_at).toBeGreaterThanOrEqual(before + 120_000);
    // The alarm runs again before Retry-After: nothing is sent.
    await runDurableObjectAlarm(userObject(bob.id));
    expect(captured).toHaveLength(1);
    answer = () => new Response(null, { status: 410 });
    await sendDuePushes(bob.id);
    expect(captured).toHaveLength(2);
    const subs = await runInDurableObject(userObject(bob.id), (_i, state) =>
      state.storage.sql.exec("SELECT * FROM push_subscriptions").toArray(),
    );
    expect(subs).toEqual([]);
    expect(await pending(bob.id)).toEqual([]);
    a.close();
  });
});
