/**
 * What the chat objects send the user's connected devices outside messages: the answer to
 * merged receipts (`read` to the other devices, errors to the frames a chat refused) and the
 * frames a chat pushes (receipts, typing), whose receipts the inbox keeps for `ready`.
 */
import type { ServerFrame } from "../../protocol";
import type { Watermarks } from "../contracts";
import type { Outcome } from "../outcome";
import { sendError } from "./frames";
import type { Inbox } from "./inbox";
import type { ReceiptWaiter } from "./receipt-queue";
import { sendRaw, stateOf } from "./sockets";

export function receiptsToDevices(
  ctx: DurableObjectState,
  inbox: Inbox,
  chatId: string,
  result: Outcome<Watermarks>,
  waiters: ReceiptWaiter[],
): void {
  if (!result.ok) {
    for (const w of waiters) sendError(w.ws, result, w.id);
    return;
  }
  if (!inbox.setMarks(chatId, result.value).readMoved) return;
  const readers = new Set(waiters.filter((w) => w.status === "read").map((w) => w.deviceId));
  const text = JSON.stringify({ type: "read", chatId, seq: result.value.read });
  for (const ws of ctx.getWebSockets()) {
    const device = stateOf(ws)?.deviceId;
    if (device && !readers.has(device)) sendRaw(ws, text);
  }
}

export function framesToDevices(ctx: DurableObjectState, inbox: Inbox, frames: ServerFrame[]): void {
  for (const frame of frames) {
    // Ticks of the user's own messages are kept, so that `ready` and the chat list restore them.
    if (frame.type === "receipt") inbox.noteReceipts(frame.chatId, { [frame.status]: frame.seq });
    const text = JSON.stringify(frame);
    for (const ws of ctx.getWebSockets()) sendRaw(ws, text);
  }
}

/** The user of any socket here (all are the same user's). */
export function anySocketUser(ctx: DurableObjectState): string | null {
  for (const ws of ctx.getWebSockets()) {
    const state = stateOf(ws);
    if (state) return state.userId;
  }
  return null;
}
