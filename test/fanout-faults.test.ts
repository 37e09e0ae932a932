import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
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
    expect(await chat.setFaultRate(3)).toBe(true);

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
    await chat.setFaultRate(0);

    const expected = Array.from({ length: count }, (_, i) => i + 2);
    for (const s of [...sockets, a2]) {
      const got = await s.socket.collect((f) => f.type === "message" && f.kind === "text", count);
      await new Promise((r) => setTimeout(r, 50));
      const seqs = s.socket.frames.filter((f) => f.type === "message" && f.kind === "text").map((f) => f.seq);
      expect(seqs).toEqual(expected);
      expect(got.map((f) => f.body)).toEqual(Array.from({ length: count }, (_, i) => `#${i}`));
    }
    // The sending device has its acks: gap refills after failures never echo its own messages back.
    expect(a.socket.frames.filter((f) => f.type === "message" && f.kind === "text")).toEqual([]);
    for (const s of [...sockets, a, a2]) s.socket.close();
  });
});
