import { describe, expect, it } from "vitest";
import { directChatId } from "../protocol";
import { api, connect, json, user } from "./helpers/client";

describe("direct messaging", () => {
  it("acks a send with seq 1 and pushes it to the peer's devices and the sender's other device", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const chat = await json<{ chatId: string }>(
      await api(alice.token, "POST", "/v1/chats", { type: "direct", with: bob.id }),
    );
    expect(chat.chatId).toBe(directChatId(alice.id, bob.id));

    const a1 = await connect(alice.token, "phone");
    const a2 = await connect(alice.token, "laptop");
    const b1 = await connect(bob.token, "phone");
    const b2 = await connect(bob.token, "tablet");

    const ack = await a1.socket.request({ type: "send", chatId: chat.chatId, clientMsgId: "m1", body: "hi bob" });
    expect(ack).toMatchObject({ type: "ack", chatId: chat.chatId, clientMsgId: "m1", seq: 1 });

    for (const s of [a2, b1, b2]) {
      const m = await s.socket.next("message");
      expect(m).toMatchObject({ chatId: chat.chatId, seq: 1, sender: alice.id, body: "hi bob", kind: "text" });
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(a1.socket.frames.filter((f) => f.type === "message")).toHaveLength(0);

    const history = await json<{ messages: unknown[]; more: boolean }>(
      await api(bob.token, "GET", `/v1/chats/${chat.chatId}/messages`),
    );
    expect(history.messages).toHaveLength(1);
    for (const s of [a1, a2, b1, b2]) s.socket.close();
  });
});
