/**
 * Web Push end to end: the real local server pushes to a local push service (`./push-service.ts`)
 * that checks, decrypts and records each push as a real one would. Offline devices get one push
 * per message or burst, with the newest message; connected devices, muted chats and one's own
 * messages get none; 410 forgets a subscription, 429 is retried after `Retry-After`; a push
 * service that never answers delays nothing else. The tests run concurrently, each with its own
 * users and subscriptions, since most wait out the server's collapse and interval windows.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { PushService, type TestSubscription } from "./push-service";
import { base, sendHttp, type TestUser, until, user } from "./sdk-fixtures";

/** The server's windows (objects/user/pushes.ts, objects/chat/notices.ts). */
const COLLAPSE_MS = 1_500;
const MIN_INTERVAL_MS = 5_000;
const NOTICE_DELAY_MS = 2_000;
/**
 * How long to watch for a push that must not come once a barrier push of the same alarm round
 * arrived: the round sends its pushes together.
 */
const SAME_ROUND_MS = 500;

let service: PushService;

async function api(u: TestUser, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${u.token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function ok(res: Promise<Response>, status: number): Promise<Response> {
  const r = await res;
  if (r.status !== status) throw new Error(`${r.url}: ${r.status}, not ${status}: ${await r.text()}`);
  return r;
}

/** A subscription of `u`'s `deviceId`, made by the push service and given to the server. */
async function subscribe(u: TestUser, deviceId: string): Promise<TestSubscription> {
  const sub = await service.subscribe();
  await ok(api(u, "PUT", `/v1/devices/${deviceId}/push`, { endpoint: sub.endpoint, keys: sub.keys }), 204);
  return sub;
}

async function direct(a: TestUser, b: TestUser): Promise<string> {
  const res = await ok(api(a, "POST", "/v1/chats", { type: "direct", with: b.id }), 200);
  return ((await res.json()) as { chatId: string }).chatId;
}

async function group(creator: TestUser, title: string, members: TestUser[]): Promise<string> {
  const res = await ok(
    api(creator, "POST", "/v1/chats", { type: "group", title, members: members.map((m) => m.id) }),
    201,
  );
  return ((await res.json()) as { chatId: string }).chatId;
}

/** Watches for pushes that must not come: a window, since no event marks their absence. */
function quiet(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

type Frame = Record<string, unknown> & { type: string };

/** A device of `u` connected over a real WebSocket, as the SDK connects. */
async function connect(u: TestUser, deviceId: string): Promise<{ frames: Frame[]; close(): Promise<void> }> {
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/connect?device=${deviceId}&token=${u.token}`);
  const frames: Frame[] = [];
  ws.addEventListener("message", (e) => frames.push(JSON.parse(String(e.data)) as Frame));
  const closed = new Promise<void>((r) => ws.addEventListener("close", () => r()));
  await until(() => frames.some((f) => f.type === "ready"), `${u.id}/${deviceId} ready`);
  return {
    frames,
    async close() {
      ws.close(1000, "done");
      await closed;
    },
  };
}

beforeAll(async () => {
  const key = await ok(api(await user("key"), "GET", "/v1/push/key"), 200);
  service = await PushService.start(((await key.json()) as { publicKey: string }).publicKey);
});

afterAll(async () => {
  await service?.close();
});

describe.concurrent("web push to a local push service", () => {
  it("an offline device gets exactly one push per message: the payload, a preview of 200 code points, a topic per chat", async ({
    expect,
  }) => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const phone = await subscribe(bob, "phone");
    const chatId = await direct(alice, bob);
    const groupId = await group(alice, "Push party 🎉", [bob]);
    // 300 code points, half of them astral (two UTF-16 units each): the cut must not split one.
    const long = Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? "😀" : String(i % 10))).join("");
    const { seq } = await sendHttp(alice, chatId, long);
    const { seq: groupSeq } = await sendHttp(alice, groupId, "hello group");
    await phone.until((p) => p.length >= 2, "a push per chat");
    const byChat = new Map(phone.pushes.map((p) => [p.payload.chatId, p]));
    expect(byChat.get(chatId)?.payload).toEqual({
      chatId,
      seq,
      sender: alice.id,
      kind: "text",
      body: Array.from(long).slice(0, 200).join(""),
    });
    expect(Array.from(byChat.get(chatId)?.payload.body ?? "")).toHaveLength(200);
    expect(byChat.get(groupId)?.payload).toEqual({
      chatId: groupId,
      seq: groupSeq,
      sender: alice.id,
      kind: "text",
      title: "Push party 🎉",
      body: "hello group",
    });
    expect(byChat.get(chatId)?.topic).not.toBe(byChat.get(groupId)?.topic);
    expect(phone.pushes.map((p) => p.vapid.sub)).toEqual(["mailto:dev@localhost", "mailto:dev@localhost"]);
    // A repeat of either would come no sooner than a chat's interval after its first push.
    await quiet(MIN_INTERVAL_MS + 1_000);
    expect(phone.problems).toEqual([]);
    expect(phone.pushes).toHaveLength(2);
  });

  it("a connected device gets no push, the user's offline device does; once it disconnects it does too", async ({
    expect,
  }) => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const phone = await subscribe(bob, "phone");
    const laptop = await subscribe(bob, "laptop");
    const chatId = await direct(alice, bob);
    const live = await connect(bob, "phone");
    const { seq } = await sendHttp(alice, chatId, "while the phone is connected");
    await until(() => live.frames.some((f) => f.type === "message" && f.seq === seq), "the phone gets it live");
    // The laptop's push goes in the same alarm round as any push to the phone would.
    expect((await laptop.nth(1)).payload.seq).toBe(seq);
    await quiet(SAME_ROUND_MS);
    expect(phone.pushes).toEqual([]);
    // Disconnected, the same subscription gets the next message: it was only the socket.
    await live.close();
    const next = await sendHttp(alice, chatId, "after the phone went away");
    expect((await phone.nth(1)).payload).toMatchObject({ seq: next.seq, body: "after the phone went away" });
    expect(phone.problems).toEqual([]);
    expect(laptop.problems).toEqual([]);
  });

  it("a burst of 20 gives at most 2 pushes in 6 s, the last with the newest, offline or online elsewhere", async ({
    expect,
  }) => {
    const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
    // Bob has no device connected (the chat parks him and sends notices); Carol's laptop is
    // connected, so every message reaches her object and her offline phone's push collapses there.
    const bobPhone = await subscribe(bob, "phone");
    const carolPhone = await subscribe(carol, "phone");
    const chatId = await group(alice, "Burst", [bob, carol]);
    const laptop = await connect(carol, "laptop");
    const start = Date.now();
    let last = { seq: 0 };
    // Spread over 3 s, longer than the chat's notice window, so that more than one window has news.
    for (let i = 1; i <= 20; i++) {
      last = await sendHttp(alice, chatId, `burst ${i}`);
      await new Promise((r) => setTimeout(r, start + i * 150 - Date.now()));
    }
    expect(Date.now() - start).toBeGreaterThan(NOTICE_DELAY_MS);
    await until(
      () => laptop.frames.some((f) => f.type === "message" && f.seq === last.seq),
      "Carol's laptop has all",
      30_000,
    );
    for (const [who, phone] of [
      ["Bob", bobPhone],
      ["Carol", carolPhone],
    ] as const) {
      await phone.until((p) => p.some((x) => x.payload.seq === last.seq), `${who}: the newest message`, 15_000);
      const arrived = JSON.stringify(phone.pushes.map((p) => ({ ms: p.at - start, seq: p.payload.seq })));
      expect
        .soft(phone.pushes.filter((p) => p.at - start <= 6_000).length, `${who}, in 6 s: ${arrived}`)
        .toBeLessThanOrEqual(2);
      expect.soft(phone.pushes.length, `${who}, in all: ${arrived}`).toBeLessThanOrEqual(2);
      expect.soft(phone.pushes.at(-1)?.payload).toMatchObject({ seq: last.seq, body: "burst 20", title: "Burst" });
      expect.soft(new Set(phone.pushes.map((p) => p.topic)).size).toBe(1);
    }
    await laptop.close();
  });

  it("410 deletes the subscription: the next message pushes only the other device", async ({ expect }) => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const phone = await subscribe(bob, "phone");
    phone.answer = { status: 410 };
    const tablet = await subscribe(bob, "tablet");
    const chatId = await direct(alice, bob);
    const first = await sendHttp(alice, chatId, "first");
    expect((await phone.nth(1)).payload.seq).toBe(first.seq);
    expect((await tablet.nth(1)).payload.seq).toBe(first.seq);
    const second = await sendHttp(alice, chatId, "second");
    // The tablet's push of the second message goes in the round a push to the phone would.
    expect((await tablet.nth(2, 15_000)).payload.seq).toBe(second.seq);
    await quiet(SAME_ROUND_MS);
    expect(phone.pushes).toHaveLength(1);
    expect(phone.problems).toEqual([]);
  });

  it("429 with Retry-After: 3 is retried after about 3 s, not before", async ({ expect }) => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const phone = await subscribe(bob, "phone");
    phone.script.push({ status: 429, retryAfter: 3 });
    const chatId = await direct(alice, bob);
    const { seq } = await sendHttp(alice, chatId, "try again later");
    const refused = await phone.nth(1);
    const retried = await phone.nth(2);
    expect(refused.answered).toBe(429);
    expect(retried.answered).toBe(201);
    // Without Retry-After the server's first backoff is 2 s.
    expect(retried.at - refused.at).toBeGreaterThanOrEqual(2_950);
    expect(retried.at - refused.at).toBeLessThan(4_500);
    expect(retried.payload).toEqual(refused.payload);
    expect(retried.payload.seq).toBe(seq);
    expect(retried.topic).toBe(refused.topic);
    await quiet(SAME_ROUND_MS);
    expect(phone.pushes).toHaveLength(2);
  });

  it("a push service that never answers delays nothing else: another user's push, a live message", async ({
    expect,
  }) => {
    const [alice, carol, dave] = [await user("alice"), await user("carol"), await user("dave")];
    const stuck = await subscribe(carol, "phone");
    stuck.answer = { status: "hang" };
    const davePhone = await subscribe(dave, "phone");
    const [carolChat, daveChat] = [await direct(alice, carol), await direct(alice, dave)];
    await sendHttp(alice, carolChat, "into the void");
    const hang = await stuck.nth(1);
    // While Carol's push hangs (the server gives up after 10 s), her laptop connects and hears
    // live, and Dave's push goes after the collapse window as usual.
    const laptop = await connect(carol, "laptop");
    const sentAt = Date.now();
    const [toCarol, toDave] = [await sendHttp(alice, carolChat, "live"), await sendHttp(alice, daveChat, "for dave")];
    await until(() => laptop.frames.some((f) => f.type === "message" && f.seq === toCarol.seq), "Carol's laptop hears");
    const heardAt = Date.now();
    const pushed = await davePhone.nth(1);
    expect(pushed.payload).toMatchObject({ seq: toDave.seq, body: "for dave" });
    // What proves it: both came while the hanging push still held its connection (it gives up
    // after 10 s). The bounds before it leave room for a loaded machine.
    expect(heardAt - sentAt).toBeLessThan(5_000);
    expect(pushed.at - sentAt).toBeLessThan(COLLAPSE_MS + 5_000);
    expect(Math.max(heardAt, pushed.at)).toBeLessThan(hang.at + 10_000);
    expect(stuck.pushes).toHaveLength(1);
    // The server tries again after its timeout: let that one through.
    stuck.answer = { status: 201 };
    await laptop.close();
  });

  it("no push from a muted chat; unmuting brings them back", async ({ expect }) => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const phone = await subscribe(bob, "phone");
    const chatId = await direct(alice, bob);
    await ok(api(bob, "PUT", `/v1/chats/${chatId}/mute`, { until: null }), 204);
    await sendHttp(alice, chatId, "muted");
    await ok(api(bob, "DELETE", `/v1/chats/${chatId}/mute`), 204);
    const heard = await sendHttp(alice, chatId, "heard");
    // A push of "muted" would go first, a collapse window after it was sent.
    await phone.until((p) => p.some((x) => x.payload.seq === heard.seq), "the push after unmuting", 15_000);
    expect(phone.payloads()).toEqual([{ chatId, seq: heard.seq, sender: alice.id, kind: "text", body: "heard" }]);
  });

  it("no push for a blocked sender's group messages; the next from someone else is pushed", async ({ expect }) => {
    const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
    const phone = await subscribe(bob, "phone");
    await ok(api(bob, "PUT", `/v1/users/${carol.id}/block`), 204);
    const chatId = await group(alice, "Block", [bob, carol]);
    await sendHttp(carol, chatId, "from carol, blocked");
    // The chat's notice window passes; then alice writes: hers is the one push.
    await quiet(NOTICE_DELAY_MS + COLLAPSE_MS);
    const heard = await sendHttp(alice, chatId, "from alice");
    await phone.until((p) => p.some((x) => x.payload.seq === heard.seq), "alice's push", 15_000);
    expect(phone.payloads()).toEqual([
      { chatId, seq: heard.seq, sender: alice.id, kind: "text", title: "Block", body: "from alice" },
    ]);
  });

  it("no push for one's own message sent over HTTP while no device is connected", async ({ expect }) => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const phone = await subscribe(bob, "phone");
    const chatId = await direct(alice, bob);
    // The chat's first message, so that it reaches Bob's object as it would on any device's send.
    await sendHttp(bob, chatId, "mine");
    const reply = await sendHttp(alice, chatId, "reply");
    // A push of "mine" would go first, a collapse window after it was sent.
    await phone.until((p) => p.some((x) => x.payload.seq === reply.seq), "the push of Alice's reply", 15_000);
    expect(phone.payloads()).toEqual([{ chatId, seq: reply.seq, sender: alice.id, kind: "text", body: "reply" }]);
  });
});
