/**
 * The machine's floor: a plain Node `ws` echo server on loopback, in its own process. It answers
 * `blob:<n>` with n bytes like the echo object, and reports its port over IPC.
 */
import { WebSocketServer } from "ws";

const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
server.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => {
    const text = isBinary ? null : String(data);
    if (text?.startsWith("blob:")) ws.send("x".repeat(Math.min(Number(text.slice(5)) || 0, 1 << 20)));
    else ws.send(data, { binary: isBinary });
  });
});
server.on("listening", () => {
  const addr = server.address();
  process.send?.({ port: typeof addr === "object" && addr ? addr.port : 0 });
});
// `{gc: true}` over IPC: a full collection (the process runs with --expose-gc), so the memory
// figure reads a settled heap here too; answered with `{gcDone: true}`.
process.on("message", (m: { gc?: boolean }) => {
  if (!m.gc) return;
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.({ gcDone: true });
});
process.on("disconnect", () => process.exit(0));
