/**
 * Privacy settings: last seen for `everyone`, `chats` (the default) or `nobody` (who then sees
 * no one's last seen), and read receipts off (no blue ticks either way in direct chats; groups
 * are not affected).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { flushReceipts, recordPushes } from "./helpers/chat-internals";
import { api, connect, json, openDirect, type TestSocket, unique } from "./helpers/client";
import { createGroup, users } from "./helpers/groups";

const chatStub = (chatId: string) => env.CHAT.get(env.CHAT.idFromName(chatId));

async function send(socket: TestSocket, chatId: string, body: string): Promise<number> {
  const ack = await socket.request({ type: "send", chatId, clientMsgId: unique("m"), body });
  if (ack.type !== "ack") throw new Error(JSON.stringify(ack));
  return ack.seq as number;
}

describe("privacy settings", () => {
  it("defaults, and refuses what is not a setting", async () => {
    const [u] = await users("u");
    expect(await json(await api(u.token, "GET", "/v1/me/settings"))).toEqual({ lastSeen: "chats", readReceipts: true });
    for (const body of [{ lastSeen: "friends" }, { readReceipts: "no" }, { other: 1 }])
      expect((await api(u.token, "PATCH", "/v1/me/settings", body)).status, JSON.stringify(body)).toBe(400);
    expect(await json(await api(u.token, "PATCH", "/v1/me/settings", { lastSeen: "everyone" }))).toEqual({
      lastSeen: "everyone",
      readReceipts: true,
    });
    expect(await json(await api(u.token, "GET", "/v1/me/settings"))).toEqual({
      lastSeen: "everyone",
      readReceipts: true,
    });
  });

  it("last seen: everyone lets strangers see it, nobody hides it and sees no one's", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    // Carol shares no chat with alice: refused under "chats", answered under "everyone".
    expect((await api(carol.token, "GET", `/v1/users/${alice.id}/presence`)).status).toBe(403);
    await api(alice.token, "PATCH", "/v1/me/settings", { lastSeen: "everyone" });
    expect(await json(await api(carol.token, "GET", `/v1/users/${alice.id}/presence`))).toMatchObject({ online: true });

    await api(alice.token, "PATCH", "/v1/me/settings", { lastSeen: "nobody" });
    expect(await json(await api(bob.token, "GET", `/v1/users/${alice.id}/presence`))).toEqual({
      userId: alice.id,
      online: false,
      lastSeen: null,
    });
    // Reciprocity: alice sees bob online, but not his last seen.
    const seen = await json<{ online: boolean; lastSeen: number | null }>(
      await api(alice.token, "GET", `/v1/users/${bob.id}/presence`),
    );
    expect(seen).toEqual({ userId: bob.id, online: true, lastSeen: null });
    await api(alice.token, "PATCH", "/v1/me/settings", { lastSeen: "chats" });
    const back = await json<{ lastSeen: number | null }>(await api(alice.token, "GET", `/v1/users/${bob.id}/presence`));
    expect(back.lastSeen).toBeGreaterThan(0);
    for (const s of [a, b]) s.close();
  });

  it("read receipts off: no blue ticks either way in a direct chat; groups unaffected", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await openDirect(alice, bob);
    const a = (await connect(alice.token, "phone")).socket;
    const b = (await connect(bob.token, "phone")).socket;
    await send(a, chatId, "warm up");
    expect(await json(await api(bob.token, "PATCH", "/v1/me/settings", { readReceipts: false }))).toMatchObject({
      readReceipts: false,
    });
    const toBob = await send(a, chatId, "read me");
    const toAlice = await send(b, chatId, "and you me");
    const pushes = await recordPushes(chatStub(chatId));
    b.send({ type: "read", chatId, seq: toBob });
    a.send({ type: "read", chatId, seq: toAlice });
    // Both reads reach the chat (delivered receipts go out); no read receipt does.
    await a.collect((f) => f.type === "receipt" && f.status === "delivered" && (f.seq as number) >= toBob, 1);
    await b.collect((f) => f.type === "receipt" && f.status === "delivered" && (f.seq as number) >= toAlice, 1);
    await flushReceipts(chatStub(chatId));
    expect(pushes.filter((p) => p.type === "receipt").length).toBeGreaterThan(0);
    expect(a.frames.filter((f) => f.type === "receipt" && f.status === "read")).toEqual([]);
    expect(b.frames.filter((f) => f.type === "receipt" && f.status === "read")).toEqual([]);
    const info = await json<{ read: string[]; delivered: string[] }>(
      await api(alice.token, "GET", `/v1/chats/${chatId}/messages/${toBob}/receipts`),
    );
    expect(info).toMatchObject({ delivered: [bob.id], read: [] });
    // A group still gets bob's read.
    const group = await createGroup(alice, "g", [bob.id]);
    const inGroup = await send(a, group, "group message");
    b.send({ type: "read", chatId: group, seq: inGroup });
    await a.collect((f) => f.type === "receipt" && f.chatId === group && f.status === "read" && f.seq === inGroup, 1);
    // Turned back on, blue ticks come again.
    await api(bob.token, "PATCH", "/v1/me/settings", { readReceipts: true });
    const again = await send(a, chatId, "and now?");
    b.send({ type: "read", chatId, seq: again });
    await a.collect((f) => f.type === "receipt" && f.chatId === chatId && f.status === "read" && f.seq === again, 1);
    for (const s of [a, b]) s.close();
  });
});
