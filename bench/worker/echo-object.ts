/**
 * Bench only, never deployed: a bare WebSocket echo in a Durable Object, accepted with the
 * hibernation API exactly as the user object accepts devices. It is the runtime's ceiling for
 * a frame that goes in and comes back out. `blob:<n>` answers n bytes (the sync baseline);
 * `born` answers when this instance was constructed (a later time after a wake from hibernation).
 * `push` (RPC) sends a frame to every socket it holds: the floor object's fan-out target.
 */
import { DurableObject } from "cloudflare:workers";
import { PING, PONG } from "../../protocol/frames";

export class EchoObject extends DurableObject {
  /** When this instance was constructed: `born` answers it, which tells whether the object hibernated. */
  private readonly born = Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Pings are answered without waking the object, as the user object does.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  override async fetch(request: Request): Promise<Response> {
    return acceptUpgrade(this.ctx, request);
  }

  /** Sends `frame` to each of this object's sockets; answers how many. */
  push(frame: string): number {
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) ws.send(frame);
    return sockets.length;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message === "born") {
      ws.send(`born:${this.born}`);
      return;
    }
    if (typeof message === "string" && message.startsWith("blob:")) {
      ws.send("x".repeat(Math.min(Number(message.slice(5)) || 0, 1 << 20)));
      return;
    }
    ws.send(message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }
}

/** The same echo on a Durable Object without SQLite storage: what a hibernated socket costs without a database. */
export class EchoKvObject extends EchoObject {}

/** Accepts a WebSocket upgrade with the hibernation API, as the user object does; 400 otherwise. */
export function acceptUpgrade(ctx: DurableObjectState, request: Request): Response {
  if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket")
    return new Response("expected a WebSocket", { status: 400 });
  const pair = new WebSocketPair();
  ctx.acceptWebSocket(pair[1]);
  return new Response(null, { status: 101, webSocket: pair[0] });
}
