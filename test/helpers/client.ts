/**
 * The one WebSocket and HTTP test helper: tokens, requests, and sockets whose frames can be
 * awaited with a timeout. Runs inside workerd; sockets go through the Worker's own fetch.
 */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { Message, ServerFrame } from "../../protocol";

const ORIGIN = "http://chat.test";
let counter = 0;

/** A name no other test uses, so each test gets fresh objects. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

export async function tokenFor(userId: string): Promise<string> {
  const res = await exports.default.fetch(`${ORIGIN}/v1/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  if (res.status !== 200) throw new Error(`dev token: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

export async function api(token: string | null, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return exports.default.fetch(`${ORIGIN}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export type Frame = ServerFrame & Record<string, unknown>;
type Match = string | ((f: Frame) => boolean);

export class TestSocket {
  readonly frames: Frame[] = [];
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private cursor = 0;
  closed: { code: number; reason: string } | null = null;
  private closeWaiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      const frame = JSON.parse(String(e.data)) as Frame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      for (const w of this.closeWaiters) w();
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  sendBinary(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  /** Every frame of `type` received so far. */
  all(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** The next frame (after those already taken) that matches, waiting up to `timeoutMs`. */
  async next(match: Match = () => true, timeoutMs = 5_000): Promise<Frame> {
    const test = typeof match === "string" ? (f: Frame) => f.type === match : match;
    for (; this.cursor < this.frames.length; this.cursor++) {
      const f = this.frames[this.cursor] as Frame;
      if (test(f)) {
        this.cursor++;
        return f;
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame matched within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match: test,
        resolve: (f) => {
          clearTimeout(timer);
          this.cursor = this.frames.length;
          resolve(f);
        },
      });
    });
  }

  /** Waits until `count` frames matching have arrived in all; answers them in order. */
  async collect(match: Match, count: number, timeoutMs = 10_000): Promise<Frame[]> {
    const test = typeof match === "string" ? (f: Frame) => f.type === match : match;
    const deadline = Date.now() + timeoutMs;
    while (this.frames.filter(test).length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.frames.filter(test).length} of ${count} frames arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.frames.filter(test);
  }

  /** A request frame and its reply (the frame echoing the same `id`). */
  async request(frame: Record<string, unknown>, timeoutMs = 5_000): Promise<Frame> {
    const id = unique("req");
    const reply = this.next((f) => f.id === id, timeoutMs);
    this.send({ ...frame, id });
    return reply;
  }

  async waitClosed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    if (this.closed) return this.closed;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("socket did not close")), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.closed as unknown as { code: number; reason: string };
  }

  close(): void {
    try {
      this.ws.close(1000, "test done");
    } catch {
      // already closed
    }
  }
}

export async function upgrade(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(`${ORIGIN}${path}`, { headers: { Upgrade: "websocket", ...headers } });
}

/** Connects a device and waits for its `ready` frame. */
export async function connect(token: string, deviceId: string): Promise<{ socket: TestSocket; ready: Frame }> {
  const res = await upgrade(`/v1/connect?device=${encodeURIComponent(deviceId)}`, { Authorization: `Bearer ${token}` });
  const ws = res.webSocket;
  if (res.status !== 101 || !ws) throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  ws.accept();
  const socket = new TestSocket(ws);
  const ready = await socket.next("ready");
  return { socket, ready };
}

/** A user with a token, for tests that need several. */
export async function user(prefix: string): Promise<{ id: string; token: string }> {
  const id = unique(prefix);
  return { id, token: await tokenFor(id) };
}

/** Opens (or finds) the direct chat of `me` with `peer` over HTTP; answers its id. */
export async function openDirect(me: { token: string }, peer: { id: string }): Promise<string> {
  const res = await api(me.token, "POST", "/v1/chats", { type: "direct", with: peer.id });
  if (res.status !== 200) throw new Error(`open direct chat: ${res.status} ${await res.text()}`);
  return (await json<{ chatId: string }>(res)).chatId;
}

/** A history page over HTTP; `query` is the raw query string without `?`. */
export async function history(
  token: string,
  chatId: string,
  query = "",
): Promise<{ status: number; messages: Message[]; more: boolean; text: string }> {
  const res = await api(token, "GET", `/v1/chats/${chatId}/messages${query ? `?${query}` : ""}`);
  const text = await res.text();
  const body = res.status === 200 ? (JSON.parse(text) as { messages: Message[]; more: boolean }) : null;
  return { status: res.status, messages: body?.messages ?? [], more: body?.more ?? false, text };
}

/** Sends `count` messages without awaiting each ack (pipelined); answers the acks in send order. */
export async function sendMany(
  socket: TestSocket,
  chatId: string,
  count: number,
  prefix: string,
  timeoutMs = 20_000,
): Promise<Frame[]> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const acks = ids.map((clientMsgId) =>
    socket.next((f) => f.type === "ack" && f.clientMsgId === clientMsgId, timeoutMs),
  );
  for (const clientMsgId of ids) socket.send({ type: "send", chatId, clientMsgId, body: `${prefix} #${clientMsgId}` });
  return Promise.all(acks);
}

/** The seqs stored in a chat object's own SQLite, read inside the object. */
export async function storedSeqs(chatId: string): Promise<number[]> {
  const stub = env.CHAT.get(env.CHAT.idFromName(chatId));
  return runInDurableObject(stub, (_instance, state) => {
    // A chat object nobody created has no tables at all.
    const tables = state.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'messages'").toArray();
    if (tables.length === 0) return [];
    return state.storage.sql
      .exec<{ seq: number }>("SELECT seq FROM messages ORDER BY seq")
      .toArray()
      .map((r) => r.seq);
  });
}

/** A JWT built by hand (not by the code under test), for auth tests, with whatever header and claims they need. */
export async function forgeToken(
  claims: Record<string, unknown>,
  options: { alg?: string; secret?: string; header?: Record<string, unknown> } = {},
): Promise<string> {
  const alg = options.alg ?? "HS256";
  const part = (v: unknown) => base64url(new TextEncoder().encode(JSON.stringify(v)));
  const unsigned = `${part(options.header ?? { alg, typ: "JWT" })}.${part(claims)}`;
  if (alg === "none") return `${unsigned}.`;
  const hash = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" }[alg];
  if (!hash) throw new Error(`forgeToken: unsupported alg ${alg}`);
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(options.secret ?? env.JWT_SECRET),
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  const sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(unsigned));
  return `${unsigned}.${base64url(new Uint8Array(sig))}`;
}

function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
