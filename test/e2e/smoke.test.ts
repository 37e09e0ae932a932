import { expect, inject, it } from "vitest";

const base = inject("baseUrl");

it("a real local server answers /health and a dev token opens a real WebSocket", async () => {
  expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true });
  const { token } = (await (
    await fetch(`${base}/v1/dev/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ userId: "e2e-smoke" }),
    })
  ).json()) as { token: string };
  const ws = new WebSocket(`${base.replace("http", "ws")}/v1/connect?device=d1&token=${token}`);
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.onmessage = (e) => resolve(JSON.parse(String(e.data)));
    ws.onerror = () => reject(new Error("socket error"));
  });
  expect(ready).toMatchObject({ type: "ready", userId: "e2e-smoke", deviceId: "d1" });
  const pong = new Promise((resolve) => {
    ws.onmessage = (e) => resolve(String(e.data));
  });
  ws.send('{"type":"ping"}');
  expect(await pong).toBe('{"type":"pong"}');
  ws.close();
});
