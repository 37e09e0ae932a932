/**
 * Fixtures for the SDK's end-to-end tests: users with tokens, a controllable network between
 * the SDK and the real local server (drop or cut frames, go offline), a `fetch` that records the
 * SDK's HTTP requests, event recorders, and the per-chat views an app keeps.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { sign } from "hono/jwt";
import { inject } from "vitest";
import {
  ChatClient,
  type ChatClientOptions,
  type ChatEvents,
  type Message,
  MessageView,
  type SocketLike,
} from "../../client";
import { devToken } from "../../client/http";

export const base = inject("baseUrl");
let counter = 0;

export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

/** The local server's JWT secret (dev.env), to mint tokens the dev route would not (distinct ones). */
export function devSecret(): string {
  const env = readFileSync(resolve(import.meta.dirname, "../../dev.env"), "utf8");
  const m = /^JWT_SECRET\s*=\s*"?([^"\n]+)"?/m.exec(env);
  if (!m?.[1]) throw new Error("JWT_SECRET not found in dev.env");
  return m[1];
}

/** A valid token for `userId` carrying `nonce`, so that every call yields a different token. */
export async function mintToken(userId: string, nonce: string): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return sign({ sub: userId, iat, exp: iat + 3600, nonce }, devSecret(), "HS256");
}

type Verdict = "pass" | "drop" | "cut";
type Frame = Record<string, unknown> & { type: string };

/** A real WebSocket the test can interfere with. */
class TestSocket implements SocketLike {
  readonly sent: string[] = [];
  private cut = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly net: TestNetwork,
  ) {}

  get readyState(): number {
    return this.cut ? 3 : this.ws.readyState;
  }

  send(data: string): void {
    if (this.cut) return;
    this.sent.push(data);
    this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: (event: unknown) => void): void;
  addEventListener(type: "message" | "close" | "error", listener: (event: never) => void): void {
    if (type !== "message") {
      this.ws.addEventListener(type, (e) => (listener as (e: Event) => void)(e));
      return;
    }
    this.ws.addEventListener("message", (e) => {
      if (this.cut) return;
      const frame = JSON.parse(String(e.data)) as Frame;
      const verdict = this.net.filter(frame);
      if (verdict === "drop") {
        this.net.dropped.push(frame);
        return;
      }
      if (verdict === "cut") {
        this.net.dropped.push(frame);
        this.kill();
        return;
      }
      this.net.received.push(frame);
      (listener as (e: { data: unknown }) => void)(e);
    });
  }

  /** The connection dies: nothing more gets through either way, and the socket closes. */
  kill(): void {
    if (this.cut) return;
    this.cut = true;
    this.ws.close(4010, "cut by the test");
  }
}

/** Stands between one SDK client and the server: see what goes over it, and interfere. */
export class TestNetwork {
  readonly sockets: TestSocket[] = [];
  readonly urls: string[] = [];
  readonly dropped: Frame[] = [];
  readonly received: Frame[] = [];
  /** Decides the fate of each server frame. */
  filter: (frame: Frame) => Verdict = () => "pass";
  /** While offline, opening a socket fails. */
  offline = false;

  readonly createSocket = (url: string): SocketLike => {
    if (this.offline) throw new Error("network is offline (test)");
    this.urls.push(url);
    const socket = new TestSocket(new WebSocket(url), this);
    this.sockets.push(socket);
    return socket;
  };

  /** Kills the current connection (the SDK sees it close and reconnects). */
  cut(): void {
    this.sockets.at(-1)?.kill();
  }

  sentFrames(): string[] {
    return this.sockets.flatMap((s) => s.sent);
  }
}

/** Everything a client emitted, in order. */
export interface Recording {
  messages: Message[];
  ticks: ChatEvents["tick"][];
  states: ChatEvents["state"][];
  errors: ChatEvents["error"][];
}

export function record(client: ChatClient): Recording {
  const rec: Recording = { messages: [], ticks: [], states: [], errors: [] };
  client.on("message", (m) => rec.messages.push(m));
  client.on("tick", (t) => rec.ticks.push(t));
  client.on("state", (s) => rec.states.push(s));
  client.on("error", (e) => rec.errors.push(e));
  return rec;
}

/** Polls until `condition` holds; fails with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface TestUser {
  id: string;
  token: string;
}

export async function user(prefix: string): Promise<TestUser> {
  const id = unique(prefix);
  return { id, token: await devToken(base, id) };
}

const clients: ChatClient[] = [];

/** A client for `user`, closed by `closeClients()`; fast backoff so reconnects take no time. */
export function client(
  u: TestUser,
  options: Partial<ChatClientOptions> & { net?: TestNetwork } = {},
): { client: ChatClient; rec: Recording; net: TestNetwork } {
  const net = options.net ?? new TestNetwork();
  const c = new ChatClient({
    baseUrl: base,
    userId: u.id,
    deviceId: "sdk-test",
    getToken: async () => u.token,
    createSocket: net.createSocket,
    backoff: { baseMs: 20, maxMs: 200 },
    ...options,
  });
  clients.push(c);
  return { client: c, rec: record(c), net };
}

export function closeClients(): void {
  for (const c of clients.splice(0)) c.close();
}

/** The messages of a chat as stored by the server (HTTP history, ascending). */
export async function stored(u: TestUser, chatId: string): Promise<Message[]> {
  const res = await fetch(`${base}/v1/chats/${encodeURIComponent(chatId)}/messages?after=0&limit=500`, {
    headers: { Authorization: `Bearer ${u.token}` },
  });
  if (!res.ok) throw new Error(`history: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { messages: Message[] }).messages;
}

/** The messages of a chat as stored by the server, read newest first with `before` pages, in seq order. */
export async function storedBefore(u: TestUser, chatId: string, pageSize: number): Promise<Message[]> {
  const out: Message[] = [];
  // The route takes at most 15 digits.
  let before = 999_999_999_999_999;
  for (;;) {
    const url = `${base}/v1/chats/${encodeURIComponent(chatId)}/messages?before=${before}&limit=${pageSize}`;
    const res = await fetch(url, { headers: { Authorization: `Bearer ${u.token}` } });
    if (!res.ok) throw new Error(`history: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as { messages: Message[]; more: boolean };
    out.push(...page.messages);
    const oldest = page.messages.at(-1);
    if (!page.more || !oldest) return out.reverse();
    before = oldest.seq;
  }
}

/** A `MessageView` per chat that every `message` event of `c` is applied to, as an app keeps them. */
export function views(c: ChatClient): (chatId: string) => MessageView {
  const byChat = new Map<string, MessageView>();
  const of = (chatId: string): MessageView => {
    let view = byChat.get(chatId);
    if (!view) {
      view = new MessageView();
      byChat.set(chatId, view);
    }
    return view;
  };
  c.on("message", (m) => of(m.chatId).apply(m));
  return of;
}

/** Sends over HTTP (not through any SDK client). */
export async function sendHttp(u: TestUser, chatId: string, body: string): Promise<{ seq: number }> {
  const res = await fetch(`${base}/v1/chats/${encodeURIComponent(chatId)}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${u.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ clientMsgId: unique("http"), body }),
  });
  if (!res.ok) throw new Error(`send: ${res.status} ${await res.text()}`);
  return (await res.json()) as { seq: number };
}

export function waitOpen(rec: Recording, count = 1): Promise<void> {
  return until(() => rec.states.filter((s) => s.state === "open").length >= count, `${count} × state open`);
}

/** One HTTP request an SDK client made through a `FetchLog`. */
export interface FetchCall {
  method: string;
  url: string;
  headers: Headers;
}

/** A `fetch` for an SDK client that records every request, and can act after an answer arrives. */
export class FetchLog {
  readonly calls: FetchCall[] = [];
  /** Runs once an answer arrived, before the SDK sees it. */
  afterAnswer: (call: FetchCall) => void | Promise<void> = () => {};

  readonly fetch: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const call = { method: init?.method ?? "GET", url, headers: new Headers(init?.headers) };
    this.calls.push(call);
    const res = await fetch(input, init);
    await this.afterAnswer(call);
    return res;
  };

  /** The uploads: POSTs to a chat's attachments. */
  uploads(): FetchCall[] {
    return this.calls.filter(isUpload);
  }
}

export function isUpload(call: FetchCall): boolean {
  return call.method === "POST" && /\/v1\/chats\/[^/]+\/attachments\?/.test(call.url);
}
