/**
 * Where each client frame is handled: one function per frame type, called by the user object
 * with the socket it arrived on. Each answers with a reply or an `error` frame; none throws.
 */
import type { ClientFrame, ErrorCode, HistoryFrame, SendFrame } from "../../protocol";
import type { Refusal } from "../outcome";
import { type SocketState, sendFrame } from "./sockets";
import type { UserObject } from "./user-object";

type Frame<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;

export async function handleFrame(
  user: UserObject,
  ws: WebSocket,
  socket: SocketState,
  frame: ClientFrame,
): Promise<void> {
  switch (frame.type) {
    case "send":
      return onSend(user, ws, socket, frame);
    case "history":
      return onHistory(user, ws, socket, frame);
    case "received":
      return onReceived(user, socket, frame);
    case "read":
      return onRead(user, ws, socket, frame);
    case "typing":
      return onTyping(user, ws, socket, frame);
    case "watch":
      return onWatch(user, ws, socket, frame);
    case "ping":
      sendFrame(ws, frame.id === undefined ? { type: "pong" } : { type: "pong", id: frame.id });
      return;
  }
}

async function onSend(user: UserObject, ws: WebSocket, socket: SocketState, frame: SendFrame): Promise<void> {
  const result = await user.sends.submit(frame.chatId, socket.userId, {
    clientMsgId: frame.clientMsgId,
    body: frame.body,
    deviceId: socket.deviceId,
  });
  if (!result.ok) return sendError(ws, result, frame.id);
  const { seq, ts } = result.value;
  user.inbox.markSent(socket.deviceId, frame.chatId, seq);
  sendFrame(ws, { type: "ack", id: frame.id, chatId: frame.chatId, clientMsgId: frame.clientMsgId, seq, ts });
}

async function onHistory(user: UserObject, ws: WebSocket, socket: SocketState, frame: HistoryFrame): Promise<void> {
  const page = await user.chat(frame.chatId).history(frame.chatId, socket.userId, {
    after: frame.after,
    before: frame.before,
    limit: frame.limit,
  });
  if (!page.ok) return sendError(ws, page, frame.id);
  sendFrame(ws, { type: "history", id: frame.id, chatId: frame.chatId, ...page.value });
}

async function onReceived(user: UserObject, socket: SocketState, frame: Frame<"received">): Promise<void> {
  user.inbox.markHeld(socket.deviceId, frame.chatId, frame.seq);
}

async function onRead(user: UserObject, _ws: WebSocket, socket: SocketState, frame: Frame<"read">): Promise<void> {
  user.inbox.markHeld(socket.deviceId, frame.chatId, frame.seq);
  const mark = user.inbox.markRead(frame.chatId, frame.seq);
  if (mark !== null) user.broadcast({ type: "read", chatId: frame.chatId, seq: mark }, socket.deviceId);
}

async function onTyping(_user: UserObject, ws: WebSocket, _socket: SocketState, frame: Frame<"typing">): Promise<void> {
  sendError(ws, { code: "bad_request", message: "typing is not available yet" }, frame.id);
}

async function onWatch(_user: UserObject, ws: WebSocket, _socket: SocketState, frame: Frame<"watch">): Promise<void> {
  sendError(ws, { code: "bad_request", message: "watch is not available yet" }, frame.id);
}

export function sendError(ws: WebSocket, refusal: Pick<Refusal, "code" | "message">, id?: string): void {
  const frame: { type: "error"; code: ErrorCode; message: string; id?: string } = {
    type: "error",
    code: refusal.code,
    message: refusal.message,
  };
  if (id !== undefined) frame.id = id;
  sendFrame(ws, frame);
}
