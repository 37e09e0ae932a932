/** The user object's device sockets: what each carries across hibernation, and sending to them. */
import type { ServerFrame } from "../../protocol";

export interface SocketState {
  userId: string;
  deviceId: string;
  connectedAt: number;
  /** When a frame last arrived (kept coarse: rewritten at most every few seconds). */
  lastHeard: number;
  /** The users whose presence this device watches. */
  watching: string[];
  /** The upgrade's request id, on the socket's log lines. */
  requestId?: string;
}

export function stateOf(ws: WebSocket): SocketState | null {
  return ws.deserializeAttachment() as SocketState | null;
}

/** Sends a frame; a socket that is closing or gone is skipped, since its device will sync later. */
export function sendFrame(ws: WebSocket, frame: ServerFrame): void {
  sendRaw(ws, JSON.stringify(frame));
}

export function sendRaw(ws: WebSocket, text: string): void {
  try {
    ws.send(text);
  } catch {
    // The socket closed under us; webSocketClose will tidy up.
  }
}
