import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SocketState } from "../objects/user/sockets";
import { api, connect, json, openDirect, user } from "./helpers/client";
import { evict } from "./helpers/evict";

type Presence = { userId: string; online: boolean; lastSeen: number | null };

async function presenceOf(token: string, userId: string): Promise<{ status: number; body: Presence }> {
  const res = await api(token, "GET", `/v1/users/${userId}/presence`);
  return { status: res.status, body: await json<Presence>(res) };
}

/** Makes every socket of the user object look silent for 61 s; answers since when. */
async function silenceSockets(stub: DurableObjectStub): Promise<number> {
  const since = Date.now() - 61_000;
  await runInDurableObject(stub, (_instance, state) => {
    for (const ws of state.getWebSockets()) {
      const s = ws.deserializeAttachment() as SocketState;
      ws.serializeAttachment({ ...s, connectedAt: since, lastHeard: since });
    }
  });
  return since;
}

describe("presence", () => {
  it("online while a device is connected; offline with lastSeen when the last one closes; watchers are told", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    await openDirect(alice, bob);
    expect((await presenceOf(alice.token, bob.id)).body).toEqual({ userId: bob.id, online: false, lastSeen: null });

    const a = await connect(alice.token, "phone");
    // `watch` has no reply of its own when everyone is allowed: the presence frame is the answer.
    a.socket.send({ type: "watch", userIds: [bob.id] });
    expect(await a.socket.next("presence")).toEqual({
      type: "presence",
      userId: bob.id,
      online: false,
      lastSeen: null,
    });

    const b1 = await connect(bob.token, "phone");
    const b2 = await connect(bob.token, "laptop");
    expect(await a.socket.next((f) => f.type === "presence" && f.online === true)).toMatchObject({ userId: bob.id });
    const online = await presenceOf(alice.token, bob.id);
    expect(online.body.online).toBe(true);

    b1.socket.close();
    await b1.socket.waitClosed();
    expect((await presenceOf(alice.token, bob.id)).body.online).toBe(true);
    const before = Date.now();
    b2.socket.close();
    const offline = await a.socket.next((f) => f.type === "presence" && f.online === false);
    expect(offline.lastSeen).toBeGreaterThanOrEqual(online.body.lastSeen ?? 0);
    const after = await presenceOf(alice.token, bob.id);
    expect(after.body).toMatchObject({ online: false });
    expect(after.body.lastSeen).toBeLessThanOrEqual(Date.now());
    expect(after.body.lastSeen).toBeGreaterThan(before - 60_000);
    a.socket.close();
  });

  it("an unwatched user's object sets no alarm, so it can hibernate; presence is worked out when asked", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    await openDirect(alice, bob);
    const b = await connect(bob.token, "phone");
    const stub = env.USER.get(env.USER.idFromName(bob.id));
    expect((await presenceOf(alice.token, bob.id)).body.online).toBe(true);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();

    await silenceSockets(stub);
    expect((await presenceOf(alice.token, bob.id)).body.online).toBe(false);
    // The next connection of the user closes the silent socket.
    const b2 = await connect(bob.token, "laptop");
    expect((await b.socket.waitClosed()).code).toBe(4001);
    expect((await presenceOf(alice.token, bob.id)).body.online).toBe(true);
    b2.socket.close();
  });

  it("a watched device silent for 60 s counts as gone without a close (the alarm checks)", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    await openDirect(alice, bob);
    const b = await connect(bob.token, "phone");
    expect((await presenceOf(alice.token, bob.id)).body.online).toBe(true);
    const a = await connect(alice.token, "phone");
    a.socket.send({ type: "watch", userIds: [bob.id] });
    expect(await a.socket.next("presence")).toMatchObject({ userId: bob.id, online: true });

    const stub = env.USER.get(env.USER.idFromName(bob.id));
    const silentSince = await silenceSockets(stub);
    expect((await presenceOf(alice.token, bob.id)).body.online).toBe(false);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const closed = await b.socket.waitClosed();
    expect(closed.code).toBe(4001);
    expect(await a.socket.next((f) => f.type === "presence" && f.online === false)).toMatchObject({ userId: bob.id });
    const p = await presenceOf(alice.token, bob.id);
    expect(p.body).toMatchObject({ userId: bob.id, online: false });
    expect(p.body.lastSeen).toBeGreaterThanOrEqual(silentSince);
    expect(await runInDurableObject(stub, (_i, state) => state.getWebSockets().length)).toBe(0);
    a.socket.close();
  });

  it("lastSeen survives a restart of the user object", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    await openDirect(alice, bob);
    const b = await connect(bob.token, "phone");
    b.socket.close();
    await b.socket.waitClosed();
    const seen = (await presenceOf(alice.token, bob.id)).body.lastSeen;
    expect(seen).not.toBeNull();
    await evict(env.USER.get(env.USER.idFromName(bob.id)));
    expect((await presenceOf(alice.token, bob.id)).body).toEqual({ userId: bob.id, online: false, lastSeen: seen });
  });

  it("refuses strangers over HTTP and over watch", async () => {
    const alice = await user("alice");
    const stranger = await user("stranger");
    const res = await presenceOf(stranger.token, alice.id);
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.body)).not.toContain("lastSeen");
    const s = await connect(stranger.token, "phone");
    const err = await s.socket.request({ type: "watch", userIds: [alice.id] });
    expect(err).toMatchObject({ type: "error", code: "forbidden" });
    expect(String(err.message)).toContain(alice.id);
    expect(s.socket.frames.some((f) => f.type === "presence")).toBe(false);
    s.socket.close();
  });
});

describe("typing", () => {
  it("reaches the peer's devices, not the typist's, and leaves no row anywhere", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chatId = await openDirect(alice, bob);
    const a = await connect(alice.token, "phone");
    const a2 = await connect(alice.token, "laptop");
    const b = await connect(bob.token, "phone");
    a.socket.send({ type: "typing", chatId, on: true });
    expect(await b.socket.next("typing")).toEqual({ type: "typing", chatId, userId: alice.id, on: true });
    a.socket.send({ type: "typing", chatId, on: false });
    expect(await b.socket.next("typing")).toEqual({ type: "typing", chatId, userId: alice.id, on: false });
    // Bob's typing reaches Alice's devices through the same chat, after any copy of her own.
    b.socket.send({ type: "typing", chatId, on: true });
    const bobs = { type: "typing", chatId, userId: bob.id, on: true };
    for (const s of [a, a2]) await s.socket.collect((f) => f.type === "typing" && f.userId === bob.id, 1);
    for (const s of [a, a2]) expect(s.socket.all("typing")).toEqual([bobs]);

    const rows = await runInDurableObject(env.CHAT.get(env.CHAT.idFromName(chatId)), (_i, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages").one(),
    );
    expect(rows.n).toBe(0);
    const chats = await json<{ chats: { lastSeq: number }[] }>(await api(bob.token, "GET", "/v1/chats"));
    expect(chats.chats.every((c) => c.lastSeq === 0)).toBe(true);
    for (const s of [a, a2, b]) s.socket.close();
  });

  it("for a chat the sender is not in: an error frame and nothing relayed", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const mallory = await user("mallory");
    const chatId = await openDirect(alice, bob);
    const b = await connect(bob.token, "phone");
    const m = await connect(mallory.token, "phone");
    const err = await m.socket.request({ type: "typing", chatId, on: true });
    expect(err).toMatchObject({ type: "error", code: "forbidden" });
    // Alice's typing reaches Bob through the same chat, after anything relayed for Mallory.
    const a = await connect(alice.token, "phone");
    a.socket.send({ type: "typing", chatId, on: true });
    await b.socket.collect((f) => f.type === "typing" && f.userId === alice.id, 1);
    expect(b.socket.all("typing")).toEqual([{ type: "typing", chatId, userId: alice.id, on: true }]);
    for (const s of [a, b, m]) s.socket.close();
  });
});
