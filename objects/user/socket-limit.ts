/**
 * The per-user socket limit. A device that reconnects replaces its own socket, so it never
 * counts against itself; a new device over the limit is refused (HTTP 429) rather than
 * closing an older one, since closing would let N+1 reconnecting devices evict each other
 * in a loop.
 */
import { PRESENCE_TIMEOUT_MS } from "../../protocol";
import { lastHeard } from "./presence";
import { stateOf } from "./sockets";

/** Whether a new socket for `deviceId` would exceed `max`; sockets silent for 60 s (gone) do not count. */
export function socketLimitReached(ctx: DurableObjectState, deviceId: string, max: number, now = Date.now()): boolean {
  let others = 0;
  for (const ws of ctx.getWebSockets()) {
    if (ws.readyState !== WebSocket.OPEN) continue;
    if (stateOf(ws)?.deviceId === deviceId) continue;
    if (now - lastHeard(ctx, ws) >= PRESENCE_TIMEOUT_MS) continue;
    others += 1;
  }
  return others >= max;
}

export function socketLimitMessage(max: number): string {
  return `at most ${max} devices of one user may be connected at once; close one first`;
}
