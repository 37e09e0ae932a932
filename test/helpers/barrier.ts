/**
 * Barriers for "nothing else arrived" checks: instead of sleeping, a test waits for a frame that
 * can only arrive after anything that might wrongly arrive. Pick the barrier that travels the
 * same path as what it guards:
 * - `pingBarrier`: whatever the user object has already sent on the socket, such as the replies
 *   to earlier frames on it that it handles without waiting (parse errors, pings). Not replies
 *   that wait on a chat object (acks, history), nor anything a chat object pushes.
 * - `messageBarrier`: pushes of a chat's messages, which each user object sends in seq order.
 * - `receiptBarrier`: receipt frames a chat object pushes to a sender.
 * None moves a socket's `next` cursor: frames before the barrier can still be taken with `next`.
 */
import { type Frame, type TestSocket, unique } from "./client";

/** An id'd `ping` on `socket`: its pong comes after whatever the user object sent on the socket before it. */
export async function pingBarrier(socket: TestSocket, timeoutMs = 5_000): Promise<void> {
  const pong = await reply(socket, { type: "ping" }, timeoutMs);
  if (pong.type !== "pong") throw new Error(`ping barrier answered with ${JSON.stringify(pong)}`);
}

/** Sends `frame` with a fresh id and waits for the frame echoing that id, without moving the cursor. */
async function reply(socket: TestSocket, frame: Record<string, unknown>, timeoutMs: number): Promise<Frame> {
  const id = unique("barrier");
  socket.send({ ...frame, id });
  const [answer] = await socket.collect((f) => f.id === id, 1, timeoutMs);
  return answer as Frame;
}

/**
 * Sends one message from `from` into `chatId` and waits until each socket of `to` has been
 * pushed it; answers its seq. Every earlier message of the chat reaches those devices first.
 */
export async function messageBarrier(
  chatId: string,
  from: TestSocket,
  to: TestSocket[],
  timeoutMs = 10_000,
): Promise<number> {
  const clientMsgId = unique("barrier");
  const ack = await reply(from, { type: "send", chatId, clientMsgId, body: "barrier" }, timeoutMs);
  if (ack.type !== "ack") throw new Error(`message barrier refused: ${JSON.stringify(ack)}`);
  const seq = ack.seq as number;
  await Promise.all(
    to.map((s) => s.collect((f) => f.type === "message" && f.chatId === chatId && f.seq === seq, 1, timeoutMs)),
  );
  return seq;
}

/**
 * `sender` sends a message into `chatId`, `reader` reads it, and `sender` waits for the chat's
 * `read` receipt of it; answers its seq. The receipt travels the chat's push to the sender's
 * object, after any receipt the chat pushed before.
 */
export async function receiptBarrier(
  chatId: string,
  sender: TestSocket,
  reader: TestSocket,
  timeoutMs = 10_000,
): Promise<number> {
  const clientMsgId = unique("barrier");
  const ack = await reply(sender, { type: "send", chatId, clientMsgId, body: "barrier" }, timeoutMs);
  if (ack.type !== "ack") throw new Error(`receipt barrier refused: ${JSON.stringify(ack)}`);
  const seq = ack.seq as number;
  reader.send({ type: "read", chatId, seq });
  await sender.collect(
    (f) => f.type === "receipt" && f.chatId === chatId && f.status === "read" && f.seq === seq,
    1,
    timeoutMs,
  );
  return seq;
}
