/**
 * The SDK's privacy features against the real local server: block and unblock, the privacy
 * settings, ticks restored after a reload (from `ready`, `listChats` or the same storage) and
 * the hidden run a member added to a group later gets instead of what came before.
 */
import { afterEach, expect, it } from "vitest";
import { type HiddenRow, MessageView, memoryStorage } from "../../client";
import { client, closeClients, FetchLog, sendHttp, until, user, waitOpen } from "./sdk-fixtures";

afterEach(closeClients);

it("a blocked user's sends are refused with forbidden until the block is lifted", async () => {
  const [alice, bob] = [await user("alice"), await user("bob")];
  const a = client(alice);
  const b = client(bob);
  const chatId = await a.client.createDirectChat(bob.id);
  await a.client.block(bob.id);
  expect(await a.client.blocks()).toEqual([bob.id]);

  b.client.connect();
  await waitOpen(b.rec);
  await expect(b.client.send(chatId, "let me talk")).rejects.toMatchObject({ code: "forbidden" });
  expect(b.rec.errors.map((e) => [e.code, e.chatId])).toEqual([["forbidden", chatId]]);
  expect(b.client.pending()).toEqual([]);

  await a.client.unblock(bob.id);
  expect(await a.client.blocks()).toEqual([]);
  const { seq } = await b.client.send(chatId, "thanks");
  const page = await a.client.history(chatId);
  expect(page.messages.map((m) => [m.seq, "body" in m ? m.body : null])).toEqual([[seq, "thanks"]]);
});

it("privacy settings round-trip, and last seen 'nobody' hides this user's presence", async () => {
  const [alice, bob] = [await user("alice"), await user("bob")];
  const a = client(alice);
  await a.client.createDirectChat(bob.id);
  expect(await a.client.settings()).toEqual({ lastSeen: "chats", readReceipts: true });
  a.client.connect();
  await waitOpen(a.rec);
  const b = client(bob);
  expect(await b.client.api.presence(alice.id)).toMatchObject({ online: true });

  expect(await a.client.updateSettings({ lastSeen: "nobody" })).toEqual({ lastSeen: "nobody", readReceipts: true });
  expect(await b.client.api.presence(alice.id)).toEqual({ userId: alice.id, online: false, lastSeen: null });
  expect(await a.client.updateSettings({ readReceipts: false })).toEqual({ lastSeen: "nobody", readReceipts: false });
  expect(await a.client.settings()).toEqual({ lastSeen: "nobody", readReceipts: false });
  await expect(a.client.api.updateSettings({ lastSeen: "friends" as "chats" })).rejects.toMatchObject({
    code: "bad_request",
  });
});

it("ticks come back after a reload: from ready on a new device, from listChats, and from the same storage", async () => {
  const [alice, bob] = [await user("alice"), await user("bob")];
  const storage = memoryStorage();
  const a = client(alice, { storage });
  const chatId = await a.client.createDirectChat(bob.id);
  a.client.connect();
  await waitOpen(a.rec);
  const first = await a.client.send(chatId, "one");
  const second = await a.client.send(chatId, "two");
  const b = client(bob);
  b.client.connect();
  await until(() => b.rec.messages.length === 2, "Bob gets both");
  b.client.markRead(chatId, first.seq);
  await until(() => a.client.tickOf(chatId, first.seq) === "read", "blue tick on the first");
  await until(() => a.client.tickOf(chatId, second.seq) === "delivered", "double tick on the second");
  a.client.close();

  // A new device: fresh storage, nothing held. `ready` names the chat with its watermarks.
  const log = new FetchLog();
  const fresh = client(alice, { deviceId: "laptop", fetch: log.fetch });
  const moved: unknown[] = [];
  fresh.client.on("watermarks", (w) => moved.push(w));
  expect(fresh.client.tickOf(chatId, first.seq)).toBe("sent");
  fresh.client.connect();
  await waitOpen(fresh.rec);
  expect([fresh.client.tickOf(chatId, first.seq), fresh.client.tickOf(chatId, second.seq)]).toEqual([
    "read",
    "delivered",
  ]);
  expect(moved.at(-1)).toEqual({ chatId, delivered: second.seq, read: first.seq });
  expect(log.calls).toEqual([]);

  // Another one that only lists the chats (it holds the chat already, or has not connected yet).
  const listing = client(alice, { deviceId: "tablet" });
  await listing.client.listChats();
  expect(listing.client.watermarks(chatId)).toEqual({ delivered: second.seq, read: first.seq });

  // The first device reloaded with its storage: the ticks are there before any request.
  const reloaded = client(alice, { storage, fetch: log.fetch });
  expect([reloaded.client.tickOf(chatId, first.seq), reloaded.client.tickOf(chatId, second.seq)]).toEqual([
    "read",
    "delivered",
  ]);
  expect(log.calls).toEqual([]);
});

it("a member added to a group later gets one hidden run for what came before, in one history request", async () => {
  const [alice, bob, cat] = [await user("alice"), await user("bob"), await user("cat")];
  const a = client(alice);
  const chatId = await a.client.createGroup("before cat", [bob.id]);
  for (const body of ["one", "two", "three"]) await sendHttp(alice, chatId, body);
  await a.client.api.addMember(chatId, cat.id);
  const after = await sendHttp(alice, chatId, "welcome cat");

  const c = client(cat);
  const view = new MessageView();
  const runs: HiddenRow[] = [];
  c.client.on("hidden", (r) => {
    runs.push(r);
    view.apply(r);
  });
  c.client.on("message", (m) => view.apply(m));
  c.client.connect();
  await until(() => c.client.cursor(chatId) === after.seq, "cat holds the chat to the end");
  // Seqs 1..4: the creation message and three texts; 5 is the message that added cat.
  expect(runs).toEqual([{ chatId, seq: 1, kind: "hidden", through: 4 }]);
  expect(view.shown().map((r) => [r.seq, r.kind])).toEqual([
    [1, "hidden"],
    [5, "system"],
    [6, "text"],
  ]);
  const histories = c.net.sentFrames().filter((f) => JSON.parse(f).type === "history");
  expect(histories).toHaveLength(1);

  // A group created with shared history shows cat everything.
  const shared = await a.client.createGroup("all of it", [bob.id], { history: "shared" });
  await sendHttp(alice, shared, "before cat");
  await a.client.api.addMember(shared, cat.id);
  const page = await c.client.history(shared);
  expect(page.messages.map((m) => m.kind)).toEqual(["system", "text", "system"]);
});
