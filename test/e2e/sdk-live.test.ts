/**
 * The client SDK's live features against a real local server: ticks from acks and receipts,
 * read marks across devices, typing, presence and groups.
 */
import { afterEach, expect, it } from "vitest";
import { client, closeClients, until, user, waitOpen } from "./sdk-fixtures";

afterEach(closeClients);

it("an own message's tick goes sent → delivered → read as the peer receives and reads it", async () => {
  const [alice, bob] = [await user("alice"), await user("bob")];
  const a = client(alice);
  const chatId = await a.client.createDirectChat(bob.id);
  a.client.connect();
  await waitOpen(a.rec);
  const { seq, clientMsgId } = await a.client.send(chatId, "did you see this?");
  expect(a.rec.ticks).toEqual([{ chatId, seq, clientMsgId, status: "sent" }]);

  // Bob's device gets it and says so (`received`) by itself; reading is his own act.
  const b = client(bob);
  b.client.connect();
  await until(() => b.rec.messages.length === 1, "Bob gets the message");
  await until(() => a.rec.ticks.some((t) => t.status === "delivered"), "double tick");
  expect(a.rec.ticks.map((t) => t.status)).toEqual(["sent", "delivered"]);

  b.client.markRead(chatId, seq);
  await until(() => a.rec.ticks.some((t) => t.status === "read"), "blue tick");
  expect(a.rec.ticks).toEqual([
    { chatId, seq, clientMsgId, status: "sent" },
    { chatId, seq, clientMsgId, status: "delivered" },
    { chatId, seq, clientMsgId, status: "read" },
  ]);
});

it("reading on one device tells the user's other devices", async () => {
  const [alice, bob] = [await user("alice"), await user("bob")];
  const phone = client(bob, { deviceId: "phone" });
  const laptop = client(bob, { deviceId: "laptop" });
  const reads: { chatId: string; seq: number }[] = [];
  laptop.client.on("read", (r) => reads.push(r));
  const chatId = await phone.client.createDirectChat(alice.id);
  phone.client.connect();
  laptop.client.connect();
  await Promise.all([waitOpen(phone.rec), waitOpen(laptop.rec)]);
  const a = client(alice);
  a.client.connect();
  await a.client.send(chatId, "hi Bob");
  await until(() => phone.rec.messages.length === 1 && laptop.rec.messages.length === 1, "both devices get it");
  phone.client.markRead(chatId, 1);
  await until(() => reads.length === 1, "the laptop hears of the read");
  expect(reads).toEqual([{ chatId, seq: 1 }]);
});

it("typing and presence reach the peer", async () => {
  const [alice, bob] = [await user("alice"), await user("bob")];
  const a = client(alice);
  const b = client(bob);
  const chatId = await a.client.createDirectChat(bob.id);
  const typing: { chatId: string; userId: string; on: boolean }[] = [];
  const presence: { userId: string; online: boolean; lastSeen: number | null }[] = [];
  a.client.on("typing", (t) => typing.push(t));
  a.client.on("presence", (p) => presence.push(p));
  a.client.connect();
  await waitOpen(a.rec);
  a.client.watch([bob.id]);
  await until(() => presence.length >= 1, "a presence frame for Bob");
  expect(presence[0]).toMatchObject({ userId: bob.id, online: false });

  b.client.connect();
  await waitOpen(b.rec);
  await until(() => presence.some((p) => p.online), "Bob online");
  b.client.typing(chatId, true);
  await until(() => typing.length >= 1, "Bob typing");
  expect(typing[0]).toEqual({ chatId, userId: bob.id, on: true });

  b.client.close();
  await until(() => presence.at(-1)?.online === false, "Bob offline again");
  expect(presence.at(-1)?.lastSeen).toEqual(expect.any(Number));
});

it("a group: created with members, messages reach everyone in order, read receipts aggregate", async () => {
  const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
  const a = client(alice);
  const b = client(bob);
  const c = client(carol);
  const chatId = await a.client.createGroup("trip", [bob.id, carol.id]);
  const details = await a.client.getChat(chatId);
  expect(details).toMatchObject({ chatId, type: "group", title: "trip" });
  expect(details.members).toEqual(
    expect.arrayContaining([
      { userId: alice.id, role: "admin" },
      { userId: bob.id, role: "member" },
      { userId: carol.id, role: "member" },
    ]),
  );
  for (const x of [a, b, c]) x.client.connect();
  await Promise.all([waitOpen(a.rec), waitOpen(b.rec), waitOpen(c.rec)]);
  const sent = await a.client.send(chatId, "who's in?");
  await b.client.send(chatId, "me");
  for (const x of [a, b, c]) await until(() => x.rec.messages.some((m) => m.body === "me"), "group messages arrive");
  const seen = (x: typeof a) => x.rec.messages.map((m) => [m.seq, m.kind, m.body]);
  expect(seen(b)).toEqual(seen(c));
  expect(seen(a)).toEqual(seen(b));
  expect(seen(a).at(-2)).toEqual([sent.seq, "text", "who's in?"]);

  b.client.markRead(chatId, sent.seq);
  c.client.markRead(chatId, sent.seq);
  await until(() => a.rec.ticks.some((t) => t.seq === sent.seq && t.status === "read"), "read by all members");
  expect(a.rec.ticks.filter((t) => t.seq === sent.seq).map((t) => t.status)).toEqual(["sent", "delivered", "read"]);
});
