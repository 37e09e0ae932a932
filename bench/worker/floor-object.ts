/**
 * Bench only, never deployed: the floor of a fan-out. On one frame from its socket it calls
 * `count` bare echo objects over RPC, `concurrency` at a time (0: all at once), each of which
 * pushes the given frame to its one socket; then it answers `floor-done`. Nothing is stored and
 * nothing is checked: what is left is the runtime's cost of the calls and the socket sends.
 */
import { DurableObject } from "cloudflare:workers";
import { acceptUpgrade, type EchoObject } from "./echo-object";

export interface FloorRequest {
  floor: { prefix: string; count: number; concurrency: number; frame: string };
}

interface FloorEnv {
  ECHO: DurableObjectNamespace<EchoObject>;
}

export class FloorObject extends DurableObject<FloorEnv> {
  override async fetch(request: Request): Promise<Response> {
    return acceptUpgrade(this.ctx, request);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== "string") return;
    const { prefix, count, concurrency, frame } = (JSON.parse(message) as FloorRequest).floor;
    const start = Date.now();
    const call = (i: number) => this.env.ECHO.get(this.env.ECHO.idFromName(`${prefix}${i}`)).push(frame);
    let pushed = 0;
    if (concurrency <= 0) {
      for (const n of await Promise.all(Array.from({ length: count }, (_, i) => call(i)))) pushed += n;
    } else {
      let next = 0;
      const worker = async () => {
        while (next < count) pushed += await call(next++);
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    }
    ws.send(`floor-done:${pushed}:${Date.now() - start}`);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }
}
