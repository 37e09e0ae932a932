/**
 * Waiting for the server to be idle before a figure or a load step: what an earlier one left
 * behind (sockets closing, presence checks, receipts) must not be measured as part of the next.
 * Idle: five echo round trips in a row through the echo object, each under 5 ms.
 */
import WebSocket from "ws";
import type { BenchServer } from "./servers";

const QUICK_MS = 5;
const IN_A_ROW = 5;

export async function awaitIdle(server: BenchServer, maxWaitMs = 30_000): Promise<{ waitedMs: number; idle: boolean }> {
  if (server.kind === "node-echo") return { waitedMs: 0, idle: true };
  const start = Date.now();
  const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/bench/echo?name=idle-probe`, {
    perMessageDeflate: false,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    let inARow = 0;
    while (inARow < IN_A_ROW && Date.now() - start < maxWaitMs) {
      const t = performance.now();
      await new Promise<void>((resolve) => {
        ws.once("message", () => resolve());
        ws.send("idle?");
      });
      inARow = performance.now() - t < QUICK_MS ? inARow + 1 : 0;
      await new Promise((r) => setTimeout(r, 20));
    }
    return { waitedMs: Date.now() - start, idle: inARow >= IN_A_ROW };
  } finally {
    ws.terminate();
  }
}
