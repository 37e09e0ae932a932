/**
 * Alice and Bob chat over real WebSockets against a real local server (`wrangler dev`):
 * Alice uses the browser-style `?token=` (Node's global WebSocket), Bob the Authorization header.
 */
import { expect, inject, it } from "vitest";
import WsSocket from "ws";

const base = inject("baseUrl");
const wsBase = base.replace(/^http/, "ws");
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

type Frame = Record<string, unknown> & { type: string };

/** A real socket whose frames can be awaited in order. */
class Client {
  readonly frames: Frame[] = [];
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  readonly closed: Promise<number>;

  constructor(private readonly ws: WebSocket | WsSocket) {
    const onFrame = (data: unknown) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    };
    if (ws instanceof WsSocket) ws.on("message", (d) => onFrame(d));
    else ws.addEventListener("message", (e) => onFrame(e.data));
    this.closed = new Promise((resolve) => {
      if (ws instanceof WsSocket) ws.on("close", (code) => resolve(code));
      else ws.addEventListener("close", (e) => resolve(e.code));
    });
  }

  /** The first frame, already here or still to come, that matches. */
  wait(match: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const found = this.frames.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no matching frame in time")), timeoutMs);
      this.waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  close(): void {
    this.ws.close(1000, "done");
  }
}

async function token(userId: string): Promise<string> {
  const res = await fetch(`${base}/v1/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

async function api(tok: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${tok}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

it("alice and bob chat over real WebSockets", async () => {
  const alice = `e2e-alice-${run}`;
  const bob = `e2e-bob-${run}`;
  const [aliceToken, bobToken] = await Promise.all([token(alice), token(bob)]);

  const chatRes = await api(aliceToken, "POST", "/v1/chats", { type: "direct", with: bob });
  expect(chatRes.status).toBe(200);
  const { chatId } = (await chatRes.json()) as { chatId: string };
  const again = (await (await api(bobToken, "POST", "/v1/chats", { type: "direct", with: alice })).json()) as {
    chatId: string;
  };
  expect(again.chatId).toBe(chatId);

  const a = new Client(new WebSocket(`${wsBase}/v1/connect?device=phone&token=${aliceToken}`));
  const b = new Client(
    new WsSocket(`${wsBase}/v1/connect?device=laptop`, { headers: { Authorization: `Bearer ${bobToken}` } }),
  );
  expect(await a.wait((f) => f.type === "ready")).toMatchObject({ userId: alice, deviceId: "phone" });
  expect(await b.wait((f) => f.type === "ready")).toMatchObject({ userId: bob, deviceId: "laptop" });

  a.send({ type: "send", id: "r1", chatId, clientMsgId: "hello-1", body: "hi bob 👋" });
  const ack = await a.wait((f) => f.id === "r1");
  expect(ack).toMatchObject({ type: "ack", chatId, clientMsgId: "hello-1", seq: 1 });
  const got = await b.wait((f) => f.type === "message");
  expect(got).toEqual({
    type: "message",
    chatId,
    seq: 1,
    sender: alice,
    clientMsgId: "hello-1",
    body: "hi bob 👋",
    ts: ack.ts,
    kind: "text",
  });

  b.send({ type: "send", id: "r2", chatId, clientMsgId: "reply-1", body: "hi alice" });
  expect(await b.wait((f) => f.id === "r2")).toMatchObject({ type: "ack", seq: 2 });
  expect(await a.wait((f) => f.type === "message")).toMatchObject({ seq: 2, sender: bob, body: "hi alice" });

  // An HTTP send reaches both sockets; then history over HTTP and over the socket agree.
  const httpSend = await api(aliceToken, "POST", `/v1/chats/${chatId}/messages`, {
    clientMsgId: "http-1",
    body: "via http",
  });
  expect(((await httpSend.json()) as { seq: number }).seq).toBe(3);
  for (const c of [a, b])
    expect(await c.wait((f) => f.type === "message" && f.seq === 3)).toMatchObject({ body: "via http" });

  const page = (await (await api(bobToken, "GET", `/v1/chats/${chatId}/messages?after=0`)).json()) as {
    messages: { seq: number; body: string }[];
    more: boolean;
  };
  expect(page.messages.map((m) => [m.seq, m.body])).toEqual([
    [1, "hi bob 👋"],
    [2, "hi alice"],
    [3, "via http"],
  ]);
  expect(page.more).toBe(false);
  b.send({ type: "history", id: "h1", chatId, before: 4, limit: 2 });
  const framePage = await b.wait((f) => f.id === "h1");
  expect((framePage.messages as { seq: number }[]).map((m) => m.seq)).toEqual([3, 2]);
  expect(framePage.more).toBe(true);

  // A bad frame gets an error and the socket lives on; the runtime answers the exact ping.
  a.send("not json");
  expect(await a.wait((f) => f.type === "error")).toMatchObject({ code: "bad_request" });
  a.send('{"type":"ping"}');
  expect(await a.wait((f) => f.type === "pong")).toEqual({ type: "pong" });

  // A second connection of the same device replaces the first, which is closed with 4000.
  const a2 = new Client(new WebSocket(`${wsBase}/v1/connect?device=phone&token=${aliceToken}`));
  await a2.wait((f) => f.type === "ready");
  expect(await a.closed).toBe(4000);

  // The sender's own device gets an ack, never a copy of its message.
  expect(a.frames.filter((f) => f.type === "message").map((f) => f.seq)).toEqual([2, 3]);
  expect(b.frames.filter((f) => f.type === "message").map((f) => f.seq)).toEqual([1, 3]);
  a2.close();
  b.close();
});

it("the upgrade refuses a missing or bad token with 401 before any socket opens", async () => {
  for (const query of ["", "&token=nope"]) {
    const ws = new WsSocket(`${wsBase}/v1/connect?device=x${query}`);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.on("open", () => reject(new Error("socket opened without a valid token")));
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => {
          body += String(d);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(answer.status).toBe(401);
    expect((JSON.parse(answer.body) as { error: { code: string } }).error.code).toBe("unauthorized");
  }
  const ws = new WebSocket(`${wsBase}/v1/connect?device=x&token=bad`);
  const outcome = await new Promise<string>((resolve) => {
    ws.addEventListener("open", () => resolve("open"));
    ws.addEventListener("error", () => resolve("error"));
  });
  expect(outcome).toBe("error");
});
