/**
 * Property test of the socket's frame handling: 10,000 generated invalid frames (see
 * helpers/bad-frames.ts), pipelined over one socket. Each gets exactly one `error` frame (with
 * its `id` when it carried a valid one); the socket stays open; the user and chat objects are the
 * same instances afterwards (no reset); no row is written anywhere; and pings are still answered.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Message, PING, PONG, parseClientFrame } from "../protocol";
import { type BadFrame, badFrames, objectText } from "./helpers/bad-frames";
import { api, connect, user } from "./helpers/client";

const FRAMES = 10_000;

async function rowCounts<O extends Rpc.DurableObjectBranded>(
  stub: DurableObjectStub<O>,
): Promise<Record<string, number>> {
  return runInDurableObject(stub, (_instance, state) => {
    const counts: Record<string, number> = {};
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray()
      .map((t) => t.name)
      .filter((name) => !name.startsWith("_cf_") && !name.startsWith("sqlite_"));
    for (const name of tables) {
      counts[name] = state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM "${name}"`).one().n;
    }
    return counts;
  });
}

/** Remembers the live instance of an object, to tell later whether it was replaced. */
async function instanceOf<O extends Rpc.DurableObjectBranded>(stub: DurableObjectStub<O>): Promise<object> {
  let instance: object | null = null;
  await runInDurableObject(stub, (i: object) => {
    instance = i;
  });
  if (!instance) throw new Error("no instance");
  return instance;
}

function wire(frame: BadFrame, id: string): string | Uint8Array {
  if ("entries" in frame) return objectText(frame.withId ? [...frame.entries, ["id", id]] : frame.entries);
  return "text" in frame ? frame.text : frame.bytes;
}

describe("fuzzing the socket", () => {
  it(`${FRAMES} invalid frames: one error each, no reset, no row written, ping still answered`, async () => {
    const [alice, bob] = await Promise.all([user("fuzz-alice"), user("fuzz-bob")]);
    const open = await api(alice.token, "POST", "/v1/chats", { type: "direct", with: bob.id });
    const { chatId } = (await open.json()) as { chatId: string };
    const { socket } = await connect(alice.token, "phone");
    expect(
      await socket.request({ type: "send", chatId, clientMsgId: "real", body: "the one real message" }),
    ).toMatchObject({
      type: "ack",
      seq: 1,
    });

    // The sender's and the peer's user objects, and the chat's object.
    const sender = env.USER.get(env.USER.idFromName(alice.id));
    const peer = env.USER.get(env.USER.idFromName(bob.id));
    const chat = env.CHAT.get(env.CHAT.idFromName(chatId));
    const identities = () => Promise.all([instanceOf(sender), instanceOf(peer), instanceOf(chat)]);
    const rows = () => Promise.all([rowCounts(sender), rowCounts(peer), rowCounts(chat)]);
    const instances = await identities();
    const before = await rows();
    const historyBefore = await (await api(bob.token, "GET", `/v1/chats/${chatId}/messages`)).text();

    const seed = Date.now();
    const frames = fc.sample(badFrames(chatId), { numRuns: FRAMES, seed });
    const withId = new Set<string>();
    let withoutId = 0;
    frames.forEach((frame, i) => {
      const id = `f${i}`;
      const data = wire(frame, id);
      // The generator promises invalid frames; the parser must agree before the server is asked.
      const local = parseClientFrame(typeof data === "string" ? data : (data.slice().buffer as ArrayBuffer));
      expect(local.ok, `seed ${seed}, frame ${i} (${frame.kind}) is valid`).toBe(false);
      if ("entries" in frame && frame.withId) withId.add(id);
      else withoutId += 1;
      socket.ws.send(data);
    });

    const errors = await socket.collect("error", FRAMES, 60_000);
    expect(socket.closed, `seed ${seed}`).toBeNull();
    const echoed = errors.filter((e) => e.id !== undefined).map((e) => e.id as string);
    expect(echoed.length, `seed ${seed}`).toBe(withId.size);
    expect(new Set(echoed)).toEqual(withId);
    expect(errors.length - echoed.length).toBe(withoutId);
    for (const e of errors) {
      expect(["bad_request", "too_large"]).toContain(e.code);
      expect(String(e.message)).not.toMatch(/\n\s+at /);
    }
    expect(socket.frames.filter((f) => f.type === "ack" || f.type === "history")).toHaveLength(1);

    // Still answered: the runtime's own pong, and one from the object itself.
    socket.send(PING);
    const pong = await socket.next((f) => f.type === "pong" && f.id === undefined);
    expect(JSON.stringify(pong)).toBe(PONG);
    expect(await socket.request({ type: "ping" })).toMatchObject({ type: "pong" });
    expect(socket.closed).toBeNull();

    // The same objects, and not one row more anywhere.
    const still = await identities();
    for (const [i, instance] of still.entries()) expect(instance).toBe(instances[i]);
    const after = await rows();
    expect(after).toEqual(before);
    expect(await (await api(bob.token, "GET", `/v1/chats/${chatId}/messages`)).text()).toBe(historyBefore);
    const { messages } = (JSON.parse(historyBefore) as { messages: Message[] }) ?? { messages: [] };
    expect(messages.map((m) => m.clientMsgId)).toEqual(["real"]);

    // And the socket still works for real frames.
    expect(await socket.request({ type: "send", chatId, clientMsgId: "after", body: "still here" })).toMatchObject({
      type: "ack",
      seq: 2,
    });
    socket.close();
  }, 120_000);
});
