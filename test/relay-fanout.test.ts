/**
 * Large rounds go through relay objects: each relay makes a shard of the calls. A relay that
 * fails (or is evicted mid-call) fails its shard, which the chat's alarm retries, so every
 * member still gets every message, in order, once.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { messageBarrier } from "./helpers/barrier";
import { recordDeliveries, useRelays } from "./helpers/chat-internals";
import { connect, sendMany, type TestSocket } from "./helpers/client";
import { chatStub, createGroup, fanoutSettled, users } from "./helpers/groups";

const texts = (s: TestSocket) =>
  s.frames.filter((f) => f.type === "message" && f.kind === "text").map((f) => f.seq as number);

describe("relayed fan-out", () => {
  it("a round to more members than a relay takes is split over relays, and nobody is called twice", async () => {
    const [owner, ...members] = await users("o", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9");
    const o = (await connect(owner.token, "phone")).socket;
    const sockets = await Promise.all(members.map(async (m) => (await connect(m.token, "phone")).socket));
    const chatId = await createGroup(
      owner,
      "relayed",
      members.map((m) => m.id),
    );
    expect(await fanoutSettled(chatId)).toEqual([]);
    const relayed = await useRelays(chatStub(chatId), 3);
    const direct = await recordDeliveries(chatStub(chatId));
    const last = (await sendMany(o, chatId, 1, "one"))[0]?.seq as number;
    await Promise.all(sockets.map((s) => s.next((f) => f.type === "message" && f.seq === last)));
    expect(await fanoutSettled(chatId)).toEqual([]);
    // Nine members to reach (the sender's object took its copy): three relays of three, no direct call.
    expect(relayed.relays.map((r) => r.members)).toEqual([3, 3, 3]);
    expect(direct.calls).toEqual([]);
    await relayed.restore();
    await direct.restore();
    for (const s of [o, ...sockets]) s.close();
  });

  it("a relay that fails mid-round fails its shard; the alarm retries it and every member ends up whole", async () => {
    const [owner, ...members] = await users("o", "m1", "m2", "m3", "m4", "m5", "m6");
    const o = (await connect(owner.token, "phone")).socket;
    const sockets = await Promise.all(members.map(async (m) => (await connect(m.token, "phone")).socket));
    const chatId = await createGroup(
      owner,
      "relayed",
      members.map((m) => m.id),
    );
    expect(await fanoutSettled(chatId)).toEqual([]);
    const stub = chatStub(chatId);
    const relayed = await useRelays(stub, 2, new Set([1]));
    const sent = await sendMany(o, chatId, 10, "burst");
    const failed = await fanoutSettled(chatId);
    // Shard 1 (two members) failed in every round; the others got everything.
    expect(failed).toHaveLength(2);
    await relayed.restore();
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub)); i++);
    expect(await fanoutSettled(chatId)).toEqual([]);

    const barrier = await messageBarrier(chatId, o, sockets);
    const expected = [...sent.map((a) => a.seq as number), barrier];
    for (const s of sockets) expect(texts(s)).toEqual(expected);
    for (const s of [o, ...sockets]) s.close();
  });
});
