/**
 * Where each client frame is handled: one function per frame type, called by the user object
 * with the socket it arrived on. Each answers with a reply or an `error` frame; none throws.
 */
import {
  type ClientFrame,
  type ErrorCode,
  type HistoryFrame,
  RATE_LIMITED_MESSAGE,
  type SendFrame,
} from "../../protocol";
import type { PresenceFrame } from "../contracts";
import { logEvent } from "../log-event";
import type { Outcome, Refusal } from "../outcome";
import type { Settings } from "../settings";
import type { chatStub } from "../stubs";
import type { Inbox } from "./inbox";
import type { FloodMeter, TokenBucket } from "./rate-limit";
import type { ReceiptQueue, ReceiptWaiter } from "./receipt-queue";
import type { SendQueue } from "./send-queue";
import { type SocketState, sendFrame, stateOf } from "./sockets";

/** What the frame handlers may use of the user object. */
export interface FrameContext {
  readonly settings: Settings;
  /** Sends per user per second, shared by every device and the HTTP send route. */
  readonly sendLimit: Pick<TokenBucket, "take">;
  readonly floods: FloodMeter;
  readonly sends: SendQueue;
  readonly inbox: Inbox;
  readonly receipts: ReceiptQueue;
  chat(chatId: string): ReturnType<typeof chatStub>;
  presenceOf(userId: string, target: string, watch: boolean): Promise<Outcome<PresenceFrame>>;
}

type Frame<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;

/**
 * How long a group's `delivered` receipt waits to merge with the member's next ones; a delivery
 * from that chat meanwhile takes it along in its answer, so it costs no call of its own.
 */
export const GROUP_DELIVERED_DELAY_MS = 3_000;

export async function handleFrame(
  user: FrameContext,
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
    case "read":
      return onReceipt(user, ws, socket, frame);
    case "typing":
      return onTyping(user, ws, socket, frame);
    case "watch":
      return onWatch(user, ws, socket, frame);
    case "ping":
      sendFrame(ws, frame.id === undefined ? { type: "pong" } : { type: "pong", id: frame.id });
      return;
  }
}

async function onSend(user: FrameContext, ws: WebSocket, socket: SocketState, frame: SendFrame): Promise<void> {
  if (!user.sendLimit.take()) {
    // A client that ignores `rate_limited` and keeps sending is a flood: it loses its socket.
    const refused = user.floods.refuse(ws);
    const who = {
      source: "UserObject",
      requestId: socket.requestId,
      userId: socket.userId,
      deviceId: socket.deviceId,
    } as const;
    if (refused > user.settings.floodCloseAfter) {
      // Frames already on their way arrive after the close: only the first is logged.
      if (refused === user.settings.floodCloseAfter + 1) logEvent("warn", "flood_closed", { ...who, closeCode: 1008 });
      return ws.close(1008, "flood: too many refused sends");
    }
    // One line per run of refusals, not one per refused send.
    if (refused === 1) logEvent("warn", "rate_limited", who);
    return sendError(ws, { code: "rate_limited", message: RATE_LIMITED_MESSAGE }, frame.id);
  }
  const { clientMsgId, body, kind, target, replyTo, attachment } = frame;
  const result = await user.sends.submit(frame.chatId, socket.userId, {
    clientMsgId,
    body,
    kind,
    target,
    replyTo,
    attachment,
    deviceId: socket.deviceId,
  });
  if (!result.ok) return sendError(ws, result, frame.id);
  const { seq, ts } = result.value;
  // The message is durable in the chat object; the ack goes out before this object's own
  // bookkeeping is written, so it does not wait for that write to reach disk.
  sendFrame(ws, { type: "ack", id: frame.id, chatId: frame.chatId, clientMsgId: frame.clientMsgId, seq, ts });
  user.inbox.markSent(socket.deviceId, frame.chatId, seq);
}

async function onHistory(user: FrameContext, ws: WebSocket, socket: SocketState, frame: HistoryFrame): Promise<void> {
  const page = await user.chat(frame.chatId).history(frame.chatId, socket.userId, {
    after: frame.after,
    before: frame.before,
    limit: frame.limit,
  });
  if (!page.ok) return sendError(ws, page, frame.id);
  sendFrame(ws, { type: "history", id: frame.id, chatId: frame.chatId, ...page.value });
}

/** `received` and `read`: the device's cursor moves here; the chat hears of it through the receipt queue. */
function onReceipt(user: FrameContext, ws: WebSocket, socket: SocketState, frame: Frame<"received" | "read">): void {
  user.inbox.markHeld(socket.deviceId, frame.chatId, frame.seq);
  const status = frame.type === "read" ? "read" : "delivered";
  const row = user.inbox.get(frame.chatId);
  if (row?.active && frame.seq <= (status === "read" ? row.readSeq : row.deliveredSeq)) return;
  // A group's delivered tick is an aggregate the chat sends out in windows anyway: waiting a
  // moment merges this member's receipts, and lets a large fan-out finish before they arrive.
  const delay = row?.type === "group" && status === "delivered" ? GROUP_DELIVERED_DELAY_MS : 0;
  const waiter: ReceiptWaiter = { ws, deviceId: socket.deviceId, status, id: frame.id };
  user.receipts.submit(frame.chatId, socket.userId, frame.seq, waiter, delay);
}

async function onTyping(user: FrameContext, ws: WebSocket, socket: SocketState, frame: Frame<"typing">): Promise<void> {
  const relayed = await user.chat(frame.chatId).typing(frame.chatId, socket.userId, frame.on);
  if (!relayed.ok) sendError(ws, relayed, frame.id);
}

/** Replaces what this device watches: a presence frame now for each allowed user, one error naming the rest. */
async function onWatch(user: FrameContext, ws: WebSocket, socket: SocketState, frame: Frame<"watch">): Promise<void> {
  const allowed: string[] = [];
  const refused: string[] = [];
  const presences = await Promise.all(
    [...new Set(frame.userIds)].map(async (target) => ({
      target,
      p: await user.presenceOf(socket.userId, target, true),
    })),
  );
  for (const { target, p } of presences) {
    if (!p.ok) {
      refused.push(target);
      continue;
    }
    allowed.push(target);
    sendFrame(ws, p.value);
  }
  // Re-read: other frames may have updated the attachment while we waited.
  const state = stateOf(ws);
  if (state) ws.serializeAttachment({ ...state, watching: allowed });
  if (refused.length > 0) {
    sendError(ws, { code: "forbidden", message: `you share no chat with: ${refused.join(", ")}` }, frame.id);
  }
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
