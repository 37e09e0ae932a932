/**
 * The bench agent's sockets: opening and closing real WebSocket clients (`ws`), what each hears
 * (deliveries timed from the send time in their bodies, arrivals per chat, `received` answered
 * once per chat per turn like a careful client), and sending frames on them.
 */
import WebSocket from "ws";
import type { ClientFrame, Message, ServerFrame } from "../protocol/frames";
import type { Answers, Arrivals, ConnSpec, DeliveryReport } from "./agent-protocol";

export type FrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;
/** What a socket hears: a server frame, or (`echo` sockets) whatever the echo server sent back. */
type Incoming = ServerFrame | { type: "echo" };

export interface Conn {
  spec: ConnSpec;
  ws: WebSocket;
  /** Called for every frame (after delivery tracking); loads and requests hook in here. */
  onFrame: ((frame: Incoming, raw: string) => void) | null;
  ready?: FrameOf<"ready">;
}

export const conns = new Map<string, Conn>();
let ackReceived = true;

/** Whether recipients answer `received` (figure 1b turns it off). */
export function setAckReceived(on: boolean): void {
  ackReceived = on;
}
const deliveries = { count: 0, latencies: [] as number[], tags: new Map<string, { count: number; maxMs: number }>() };
/** Per chat: `message` frames of every kind and the latest arrival, for bursts whose bodies carry no send time. */
const arrivals = new Map<string, { count: number; lastNs: bigint }>();
const pendingReceived = new Map<Conn, Map<string, number>>();
let flushScheduled = false;

export const nowNs = () => process.hrtime.bigint();
export const msSince = (ns: bigint) => Number(nowNs() - ns) / 1e6;

/** A body that starts with the send time (ns) and a tag, padded to `bytes`. */
export function bodyOf(tag: string, bytes: number): string {
  const head = `${nowNs()} ${tag} `;
  return head.length >= bytes ? head : head + "x".repeat(bytes - head.length);
}

/** Counts a body written by `bodyOf` as delivered here: its latency, and its tag's count and latest arrival. */
function countBody(body: string): void {
  const sp = body.indexOf(" ");
  if (sp <= 0) return;
  const ms = msSince(BigInt(body.slice(0, sp)));
  deliveries.count += 1;
  deliveries.latencies.push(ms);
  const tag = body.slice(sp + 1, body.indexOf(" ", sp + 1));
  if (tag !== "-") {
    const t = deliveries.tags.get(tag) ?? { count: 0, maxMs: 0 };
    t.count += 1;
    t.maxMs = Math.max(t.maxMs, ms);
    deliveries.tags.set(tag, t);
  }
}

/** What the floor object's bare objects push to their echo sockets: counted like a delivered message. */
const PUSH_PREFIX = '{"type":"push"';

function trackDelivery(conn: Conn, frame: Message): void {
  const a = arrivals.get(frame.chatId) ?? { count: 0, lastNs: 0n };
  a.count += 1;
  a.lastNs = nowNs();
  arrivals.set(frame.chatId, a);
  countBody(frame.body);
  if (!ackReceived) return;
  // A careful client acknowledges what it holds once per chat per turn, not per message.
  const perChat = pendingReceived.get(conn) ?? new Map<string, number>();
  perChat.set(frame.chatId, Math.max(perChat.get(frame.chatId) ?? 0, frame.seq));
  pendingReceived.set(conn, perChat);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushReceived);
  }
}

function flushReceived(): void {
  flushScheduled = false;
  for (const [conn, perChat] of pendingReceived) {
    for (const [chatId, seq] of perChat) send(conn, { type: "received", chatId, seq });
  }
  pendingReceived.clear();
}

export function send(conn: Conn, frame: ClientFrame): void {
  sendText(conn, JSON.stringify(frame));
}

/** Raw text: the exact ping bytes, or an echo server's `blob:<n>`. */
export function sendText(conn: Conn, text: string): void {
  if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(text);
}

export function openOne(spec: ConnSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = spec.token ? { Authorization: `Bearer ${spec.token}` } : {};
    const ws = new WebSocket(spec.url, { headers, perMessageDeflate: false });
    const conn: Conn = { spec, ws, onFrame: null };
    const timer = setTimeout(() => fail(new Error(`${spec.key}: no ready within 30 s`)), 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    ws.on("error", (err) => fail(err));
    ws.on("unexpected-response", (_req, res) => fail(new Error(`${spec.key}: upgrade answered ${res.statusCode}`)));
    ws.on("message", (data) => {
      const raw = String(data);
      if (spec.kind === "echo") {
        if (raw.startsWith(PUSH_PREFIX)) return countBody((JSON.parse(raw) as { body: string }).body);
        return conn.onFrame?.({ type: "echo" }, raw);
      }
      const frame = JSON.parse(raw) as ServerFrame;
      if (frame.type === "message") trackDelivery(conn, frame);
      conn.onFrame?.(frame, raw);
    });
    const done = () => {
      clearTimeout(timer);
      conns.set(spec.key, conn);
      resolve();
    };
    if (spec.kind === "echo") ws.once("open", done);
    else
      conn.onFrame = (f) => {
        if (f.type !== "ready") return;
        conn.onFrame = null;
        conn.ready = f;
        done();
      };
  });
}

export async function open(specs: ConnSpec[], concurrency: number): Promise<Answers["open"]> {
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < specs.length) {
      const spec = specs[next++] as ConnSpec;
      try {
        await openOne(spec);
      } catch (err) {
        failed += 1;
        firstError ??= String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, specs.length)) }, worker));
  return { opened: specs.length - failed, failed, firstError };
}

export async function close(keys?: string[]): Promise<Answers["close"]> {
  const targets = keys ? keys.map((k) => conns.get(k)).filter((c): c is Conn => !!c) : [...conns.values()];
  await Promise.all(
    targets.map(
      (c) =>
        new Promise<void>((resolve) => {
          conns.delete(c.spec.key);
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 3_000);
          c.ws.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
          c.ws.close(1000, "bench done");
        }),
    ),
  );
  return { closed: targets.length };
}

export function connOf(key: string): Conn {
  const conn = conns.get(key);
  if (!conn) throw new Error(`no connection ${key}`);
  return conn;
}

export function deliveryReport(reset: boolean, withLatencies: boolean): DeliveryReport {
  const report: DeliveryReport = {
    count: deliveries.count,
    latencies: withLatencies ? deliveries.latencies : [],
    tags: Object.fromEntries(deliveries.tags),
  };
  if (reset) {
    deliveries.count = 0;
    deliveries.latencies = [];
    deliveries.tags.clear();
  }
  return report;
}

/** Waits for the first frame of `type` on `conn` that `match` accepts. */
export function nextFrame<T extends ServerFrame["type"]>(
  conn: Conn,
  type: T,
  match: (f: FrameOf<T>) => boolean,
  timeoutMs = 30_000,
): Promise<FrameOf<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.onFrame = null;
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.onFrame = (f) => {
      if (f.type === "error") {
        clearTimeout(timer);
        conn.onFrame = null;
        reject(new Error(`${f.code}: ${f.message}`));
      } else if (f.type === type && match(f as FrameOf<T>)) {
        clearTimeout(timer);
        conn.onFrame = null;
        resolve(f as FrameOf<T>);
      }
    };
  });
}

export function arrivalsOf(chatId: string, reset: boolean): Arrivals {
  const a = arrivals.get(chatId);
  if (reset) arrivals.delete(chatId);
  return { count: a?.count ?? 0, lastNs: String(a?.lastNs ?? 0n) };
}
