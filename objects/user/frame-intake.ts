/**
 * Bookkeeping of a frame as it arrives, before it is parsed: its size against the protocol's
 * limit, and when its socket was last heard from (which presence reads).
 */
import { MAX_FRAME_BYTES } from "../../protocol";
import type { SocketState } from "./sockets";

const HEARD_GRANULARITY_MS = 5_000;
const encoder = new TextEncoder();

/** Whether the frame is over `MAX_FRAME_BYTES` of UTF-8. */
export function frameTooLarge(raw: string | ArrayBuffer): boolean {
  // Cheap bound first: a UTF-16 code unit is at most 3 bytes of UTF-8.
  const size =
    typeof raw !== "string"
      ? raw.byteLength
      : raw.length * 3 <= MAX_FRAME_BYTES
        ? raw.length
        : encoder.encode(raw).byteLength;
  return size > MAX_FRAME_BYTES;
}

/** Records that a socket was heard from; rewritten at most every few seconds. */
export function heard(ws: WebSocket, socket: SocketState): void {
  const now = Date.now();
  if (now - socket.lastHeard < HEARD_GRANULARITY_MS) return;
  socket.lastHeard = now;
  ws.serializeAttachment(socket);
}
