/**
 * Property test of the socket's frame handling: 10,000 generated invalid frames (see
 * helpers/bad-frames.ts), pipelined over one socket, each followed by an id'd `ping`. The object
 * answers a bad frame at once, so everything a frame causes arrives before the pong that follows
 * it: each frame must get exactly one `error` frame (with its `id` when it carried a valid one)
 * and nothing else. The socket stays open; the user and chat objects are the same instances
 * afterwards (no reset); every table of the three objects holds exactly the rows it held before.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Message, PING, PONG, parseClientFrame } from "../protocol";
import { type BadFrame, badFrames, objectText } from "./helpers/bad-frames";
import { api, connect, type Frame, user } from "./helpers/client";
import { instanceOf } from "./helpers/evict";

const FRAMES = 10_000;
const MAX_ID_CHARS = 64;

/** Every row of every table of the object, as text, sorted: equal snapshots mean no row written or changed. */
async function tableRows(stub: DurableObjectStub): Promise<Record<string, string[]>> {
  return runInDurableObject(stub, (_instance: object, state) => {
    const out: Record<string, string[]> = {};
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray()
      .map((t) => t.name)
      .filter((name) => !name.startsWith("_cf_") && !name.startsWith("sqlite_"));
    for (const name of tables) {
      out[name] = state.storage.sql
        .exec(`SELECT * FROM "${name}"`)
        .toArray()
        .map((row) => JSON.stringify(row, (_k, v: unknown) => (v instanceof ArrayBuffer ? [...new Uint8Array(v)] : v)))
        .sort();
    }
    return out;
  });
}

function wire(frame: BadFrame, id: string): string | Uint8Array {
  if ("entries" in frame) return objectText(frame.withId ? [...frame.entries, ["id", id]] : frame.entries);
  return "text" in frame ? frame.text : frame.bytes;
}

/** The id the contract says an error must echo: a JSON object's `id`, when a string of at most 64 characters. */
function idToEcho(data: string | Uint8Array): string | undefined {
  if (typeof data !== "string") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const id: unknown = (parsed as Record<string, unknown>).id;
  return typeof id === "string" && id.length <= MAX_ID_CHARS ? id : undefined;
}

/** What arrived for one fuzzed frame, in a form short enough for a failure message. */
function shown(frames: Frame[]): string {
  return JSON.stringify(frames.map((f) => ({ type: f.type, id: f.id, code: f.code })));
}

describe("fuzzing the socket", () => {
  it(`${FRAMES} invalid frames: one error each, no reset, no row written, ping still answered`, async () => {
    const [alice, bob] = await Promise.all([user("fuzz-alice"), user("fuzz-bob")]);
    const open = await api(alice.token, "POST", "/v1/chats", { type: "direct", with: bob.id });
    const { chatId } = (await open.json()) as { chatId: string };
    const { socket } = await connect(alice.token, "phone");
    const laptop = (await connect(alice.token, "laptop")).socket;
    const peer = (await connect(bob.token, "phone")).socket;
    expect(
      await socket.request({ type: "send", chatId, clientMsgId: "real", body: "the one real message" }),
    ).toMatchObject({
      type: "ack",
      seq: 1,
    });
    // Settled before the snapshot: both user objects wrote the message to their inbox as they
    // pushed it, a closing socket makes the sender's object write its pending device cursors,
    // and the chat's follow-up alarm has run (it would record the fan-out later).
    for (const s of [laptop, peer]) await s.collect((f) => f.type === "message" && f.seq === 1, 1);
    laptop.close();
    await laptop.waitClosed();
    const senderStub = env.USER.get(env.USER.idFromName(alice.id));
    const peerStub = env.USER.get(env.USER.idFromName(bob.id));
    const chatStub = env.CHAT.get(env.CHAT.idFromName(chatId));
    await runDurableObjectAlarm(chatStub);

    const stubs = [senderStub, peerStub, chatStub];
    const instances = await Promise.all(stubs.map(instanceOf));
    const before = await Promise.all(stubs.map(tableRows));
    const historyBefore = await (await api(bob.token, "GET", `/v1/chats/${chatId}/messages`)).text();

    const seed = Date.now();
    const frames = fc.sample(badFrames(chatId), { numRuns: FRAMES, seed });
    const sent = frames.map((frame, i) => {
      const data = wire(frame, `f${i}`);
      // The generator promises invalid frames; the parser must agree before the server is asked.
      const local = parseClientFrame(typeof data === "string" ? data : (data.slice().buffer as ArrayBuffer));
      expect(local.ok, `seed ${seed}, frame ${i} (${frame.kind}) is valid`).toBe(false);
      return { kind: frame.kind, id: idToEcho(data), barrier: `fuzz-pong-${i}` };
    });
    const start = socket.frames.length;
    for (const [i, frame] of frames.entries()) {
      socket.ws.send(wire(frame, `f${i}`));
      socket.send({ type: "ping", id: sent[i]?.barrier });
    }
    const last = sent.at(-1)?.barrier;
    await socket.next((f) => f.type === "pong" && f.id === last, 60_000);
    expect(socket.closed, `seed ${seed}`).toBeNull();

    // Frame by frame: what came between the previous pong and this frame's pong is its answer.
    const wrong: string[] = [];
    let cursor = start;
    for (const [i, { kind, id, barrier }] of sent.entries()) {
      const pong = socket.frames.findIndex((f, at) => at >= cursor && f.type === "pong" && f.id === barrier);
      const answers = socket.frames.slice(cursor, pong < 0 ? undefined : pong);
      const [error] = answers;
      const right =
        pong >= 0 &&
        answers.length === 1 &&
        error?.type === "error" &&
        (error.code === "bad_request" || error.code === "too_large") &&
        error.id === id &&
        !/\n\s+at /.test(String(error.message));
      if (!right) wrong.push(`frame ${i} (${kind}, id ${id}) got ${shown(answers)}${pong < 0 ? " and no pong" : ""}`);
      if (pong < 0) break;
      cursor = pong + 1;
    }
    expect(wrong, `seed ${seed}`).toEqual([]);
    expect(socket.frames.slice(cursor), `seed ${seed}: frames after the last pong`).toEqual([]);

    // Still answered: the runtime's own pong, and one from the object itself.
    socket.send(PING);
    const pong = await socket.next((f) => f.type === "pong" && f.id === undefined);
    expect(JSON.stringify(pong)).toBe(PONG);
    expect(await socket.request({ type: "ping" })).toMatchObject({ type: "pong" });
    expect(socket.closed).toBeNull();

    // The same objects, and every table's rows exactly as they were.
    const still = await Promise.all(stubs.map(instanceOf));
    for (const [i, instance] of still.entries()) expect(instance === instances[i], `object ${i} was reset`).toBe(true);
    expect(await Promise.all(stubs.map(tableRows))).toEqual(before);
    expect(await (await api(bob.token, "GET", `/v1/chats/${chatId}/messages`)).text()).toBe(historyBefore);
    const { messages } = JSON.parse(historyBefore) as { messages: Message[] };
    expect(messages.map((m) => m.clientMsgId)).toEqual(["real"]);

    // And the socket still works for real frames; nothing of the fuzz reached the peer.
    expect(await socket.request({ type: "send", chatId, clientMsgId: "after", body: "still here" })).toMatchObject({
      type: "ack",
      seq: 2,
    });
    await peer.collect((f) => f.type === "message" && f.seq === 2, 1);
    expect(peer.frames.filter((f) => f.type !== "ready").map((f) => [f.type, f.seq])).toEqual([
      ["message", 1],
      ["message", 2],
    ]);
    for (const s of [socket, peer]) s.close();
  }, 120_000);
});
