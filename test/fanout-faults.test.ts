import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { messageBarrier, pingBarrier } from "./helpers/barrier";
import { failEveryNthDelivery } from "./helpers/chat-internals";
import { api, connect, json, user } from "./helpers/client";

describe("fan-out under failing calls", () => {
  it("with one delivery call in three failing, every online recipient gets every message, in order, once", async () => {
    const alice = await user("alice");
    const others = [await user("bob"), await user("carol"), await user("dave")];
    const created = await api(alice.token, "POST", "/v1/chats", {
      type: "group",
      title: "faulty",
      members: others.map((u) => u.id),
    });
    const { chatId } = await json<{ chatId: string }>(created);
    const chat = env.CHAT.get(env.CHAT.idFromName(chatId));
    const faults = await failEveryNthDelivery(chat, 3);

    const sockets = await Promise.all(others.map((u) => connect(u.token, "phone")));
    const a = await connect(alice.token, "phone");
    const a2 = await connect(alice.token, "laptop");
    const count = 60;
    for (let i = 0; i < count; i++) {
      a.socket.send({ type: "send", chatId, clientMsgId: `m${i}`, body: `#${i}` });
      // Spread the sends over several fan-out rounds, so failures hit different rounds.
      if (i % 6 === 5) await a.socket.collect("ack", i + 1);
    }
    await a.socket.collect("ack", count);
    // A failure on the last round is repaired by the chat's alarm: run it as often as it is set.
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(chat)); i++);
    await faults.restore();
    // The faults hit deliveries to every member, alice's own object among them.
    expect(new Set(faults.failed)).toEqual(new Set([alice.id, ...others.map((u) => u.id)]));

    const recipients = [...sockets, a2];
    const texts = await Promise.all(
      recipients.map((s) => s.socket.collect((f) => f.type === "message" && f.kind === "text", count)),
    );
    // A later message reaches each device after anything of this chat that could still arrive.
    const barrier = await messageBarrier(
      chatId,
      a.socket,
      recipients.map((s) => s.socket),
    );
    await pingBarrier(a.socket);
    const expected = [...Array.from({ length: count }, (_, i) => i + 2), barrier];
    recipients.forEach((s, i) => {
      const seqs = s.socket.frames.filter((f) => f.type === "message" && f.kind === "text").map((f) => f.seq);
      expect(seqs).toEqual(expected);
      expect(texts[i]?.map((f) => f.body)).toEqual(Array.from({ length: count }, (_, j) => `#${j}`));
    });
    // The sending device has its acks: gap refills after failures never echo its own messages back.
    expect(a.socket.frames.filter((f) => f.type === "message" && f.kind === "text")).toEqual([]);
    for (const s of [...sockets, a, a2]) s.socket.close();
  });
});
