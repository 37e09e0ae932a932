/**
 * A bench client agent: a child process holding many real WebSocket clients (`ws`), driven by
 * the bench over IPC. Latencies use `process.hrtime`, the machine-wide monotonic clock, written
 * into each message body, so a recipient in another process can time the delivery.
 */
import WebSocket from "ws";
import { type ClientFrame, type Message, PING, PONG, type SendFrame, type ServerFrame } from "../protocol/frames";
import type {
  Answers,
  Arrivals,
  Command,
  ConnSpec,
  DeliveryReport,
  LoadResult,
  LoadSpec,
  Reply,
  Request,
  SyncResult,
  SyncSpec,
} from "./agent-protocol";

type FrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;
/** What a socket hears: a server frame, or (`echo` sockets) whatever the echo server sent back. */
type Incoming = ServerFrame | { type: "echo" };

interface Conn {
  spec: ConnSpec;
  ws: WebSocket;
  /** Called for every frame (after delivery tracking); loads and requests hook in here. */
  onFrame: ((frame: Incoming, raw: string) => void) | null;
  ready?: FrameOf<"ready">;
}

const conns = new Map<string, Conn>();
let ackReceived = true;
const deliveries = { count: 0, latencies: [] as number[], tags: new Map<string, { count: number; maxMs: number }>() };
/** Per chat: `message` frames of every kind and the latest arrival, for bursts whose bodies carry no send time. */
const arrivals = new Map<string, { count: number; lastNs: bigint }>();
const pendingReceived = new Map<Conn, Map<string, number>>();
let flushScheduled = false;

const nowNs = () => process.hrtime.bigint();
const msSince = (ns: bigint) => Number(nowNs() - ns) / 1e6;

/** A body that starts with the send time (ns) and a tag, padded to `bytes`. */
function bodyOf(tag: string, bytes: number): string {
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

function send(conn: Conn, frame: ClientFrame): void {
  sendText(conn, JSON.stringify(frame));
}

/** Raw text: the exact ping bytes, or an echo server's `blob:<n>`. */
function sendText(conn: Conn, text: string): void {
  if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(text);
}

function openOne(spec: ConnSpec): Promise<void> {
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

async function open(specs: ConnSpec[], concurrency: number): Promise<Answers["open"]> {
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

async function close(keys?: string[]): Promise<Answers["close"]> {
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

function connOf(key: string): Conn {
  const conn = conns.get(key);
  if (!conn) throw new Error(`no connection ${key}`);
  return conn;
}

/** Open loop at `rate` frames/s over all targets, or closed loop with `window` in flight per target. */
function load(spec: LoadSpec): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, completed: 0, inWindow: 0, errors: 0, latencies: [], elapsedMs: 0 };
  const targets = spec.targets.map((t) => ({ ...t, conn: connOf(t.key), inFlight: new Map<string, bigint>(), n: 0 }));
  const start = nowNs();
  let lastDone = start;
  let stopped = false;
  type Target = (typeof targets)[number];
  const fire = (t: Target) => {
    const clientMsgId = `${t.key}-${Date.now().toString(36)}-${t.n++}`;
    const sentAt = nowNs();
    t.inFlight.set(clientMsgId, sentAt);
    send(t.conn, { type: "send", chatId: t.chatId ?? "echo", clientMsgId, body: bodyOf("-", spec.bodyBytes) });
    result.sent += 1;
  };
  const complete = (t: Target, clientMsgId: string | undefined) => {
    const sentAt = clientMsgId ? t.inFlight.get(clientMsgId) : undefined;
    if (sentAt === undefined || !clientMsgId) return;
    t.inFlight.delete(clientMsgId);
    result.completed += 1;
    if (!stopped) result.inWindow += 1;
    result.latencies.push(msSince(sentAt));
    lastDone = nowNs();
    if (spec.rate === 0 && !stopped) fire(t);
  };
  for (const t of targets) {
    t.conn.onFrame = (frame, raw) => {
      if (t.conn.spec.kind === "echo") return complete(t, (JSON.parse(raw) as Partial<SendFrame>).clientMsgId);
      if (frame.type === "ack") return complete(t, frame.clientMsgId);
      if (frame.type === "error") {
        result.errors += 1;
        result.firstError ??= `${frame.code}: ${frame.message}`;
      }
    };
  }
  return new Promise((resolve) => {
    const finish = () => {
      for (const t of targets) t.conn.onFrame = null;
      result.elapsedMs = Number(lastDone - start) / 1e6;
      resolve(result);
    };
    const drain = () => {
      stopped = true;
      const deadline = Date.now() + spec.drainMs;
      const poll = () => {
        if (result.completed >= result.sent || Date.now() >= deadline) return finish();
        setTimeout(poll, 5);
      };
      poll();
    };
    if (spec.rate === 0) {
      for (const t of targets) for (let i = 0; i < (spec.window ?? 1); i++) fire(t);
      setTimeout(drain, spec.durationMs);
      return;
    }
    let rr = 0;
    const tick = () => {
      const elapsed = Number(nowNs() - start) / 1e6;
      if (elapsed >= spec.durationMs) return drain();
      const due = Math.floor((spec.rate * elapsed) / 1000) - result.sent;
      for (let i = 0; i < due; i++) fire(targets[rr++ % targets.length] as Target);
      setTimeout(tick, 1);
    };
    tick();
  });
}

function deliveryReport(reset: boolean, withLatencies: boolean): DeliveryReport {
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
function nextFrame<T extends ServerFrame["type"]>(
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

async function sendTagged(key: string, chatId: string, tag: string): Promise<Answers["sendTagged"]> {
  const conn = connOf(key);
  const clientMsgId = `${tag}-${Date.now().toString(36)}`;
  const start = nowNs();
  const ack = nextFrame(conn, "ack", (f) => f.clientMsgId === clientMsgId);
  send(conn, { type: "send", chatId, clientMsgId, body: bodyOf(tag, 64) });
  await ack;
  return { ackMs: msSince(start) };
}

/**
 * Asks the floor object on socket `key` to have `count` bare objects push one tagged frame
 * each (a message frame's size) to their sockets; answers when the floor object reports done.
 */
async function floorSend(key: string, tag: string, prefix: string, count: number, concurrency: number) {
  const conn = connOf(key);
  const start = nowNs();
  const frame = JSON.stringify({ type: "push", body: bodyOf(tag, 64) });
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("floor: no answer within 60 s")), 60_000);
    conn.onFrame = (_f, raw) => {
      if (!raw.startsWith("floor-done:")) return;
      clearTimeout(timer);
      conn.onFrame = null;
      resolve();
    };
  });
  sendText(conn, JSON.stringify({ floor: { prefix, count, concurrency, frame } }));
  await done;
  return { ms: msSince(start) };
}

/**
 * `count` sends with `window` in flight; answers when all are acked. Text bodies carry the send
 * time; with `reactions`, the i-th send is a reaction to `targets[i % n]` with `emoji[i % m]`.
 */
async function burst(
  key: string,
  chatId: string,
  count: number,
  window: number,
  bodyBytes: number,
  reactions?: { targets: number[]; emoji: string[] },
): Promise<Answers["burst"]> {
  const conn = connOf(key);
  const start = nowNs();
  let sent = 0;
  let acked = 0;
  let errors = 0;
  let firstError: string | undefined;
  const seqs: number[] = [];
  const prefix = `b-${key}-${Date.now().toString(36)}`;
  const frameOf = (i: number): ClientFrame => {
    const clientMsgId = `${prefix}-${i}`;
    if (!reactions) return { type: "send", chatId, clientMsgId, body: bodyOf("-", bodyBytes) };
    const at = <T>(list: T[]) => list[i % list.length] as T;
    return {
      type: "send",
      chatId,
      clientMsgId,
      kind: "reaction",
      target: at(reactions.targets),
      body: at(reactions.emoji),
    };
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`burst: ${acked} of ${count} acked in 5 min`)), 300_000);
    const fire = () => {
      if (sent >= count) return;
      send(conn, frameOf(sent++));
    };
    conn.onFrame = (f) => {
      if (f.type !== "ack" && f.type !== "error") return;
      if (f.type === "ack") seqs.push(f.seq);
      else {
        errors += 1;
        firstError ??= `${f.code}: ${f.message}`;
      }
      acked += 1;
      if (acked >= count) {
        clearTimeout(timer);
        conn.onFrame = null;
        resolve();
      } else fire();
    };
    for (let i = 0; i < window; i++) fire();
  });
  const lastSeq = Math.max(0, ...seqs);
  return { ms: msSince(start), acked: acked - errors, errors, lastSeq, seqs, startNs: String(start), firstError };
}

function arrivalsOf(chatId: string, reset: boolean): Arrivals {
  const a = arrivals.get(chatId);
  if (reset) arrivals.delete(chatId);
  return { count: a?.count ?? 0, lastNs: String(a?.lastNs ?? 0n) };
}

/** Connect, `ready`, then page `history` after the device's cursor until it holds everything. */
async function sync(spec: SyncSpec): Promise<SyncResult> {
  const start = nowNs();
  await openOne(spec.conn);
  const readyMs = msSince(start);
  const conn = connOf(spec.conn.key);
  let cursor = spec.after;
  let got = 0;
  let pages = 0;
  let inOrder = true;
  const pageBytes: number[] = [];
  for (let more = true; more && pages < 10_000; ) {
    const id = `h${pages}`;
    const reply = nextFrame(conn, "history", (f) => f.id === id, 60_000);
    send(conn, { type: "history", id, chatId: spec.chatId, after: cursor, limit: spec.pageLimit });
    const page = await reply;
    pages += 1;
    pageBytes.push(JSON.stringify(page).length);
    for (const m of page.messages) {
      if (m.seq !== cursor + 1) inOrder = false;
      cursor = m.seq;
      got += 1;
    }
    more = page.more === true && page.messages.length > 0;
  }
  const listedInReady = conn.ready?.chats.some((c) => c.chatId === spec.chatId) ?? false;
  return { ms: msSince(start), readyMs, got, pages, inOrder, listedInReady, pageBytes };
}

/** Connects to an echo server and asks for blobs of the given sizes, one after another. */
async function blobs(spec: ConnSpec, sizes: number[]): Promise<Answers["blobs"]> {
  const start = nowNs();
  await openOne(spec);
  const conn = connOf(spec.key);
  for (const size of sizes) {
    const reply = new Promise<void>((resolve) => {
      conn.onFrame = (_frame, raw) => {
        if (raw === PONG) return;
        conn.onFrame = null;
        resolve();
      };
    });
    sendText(conn, `blob:${size}`);
    await reply;
  }
  const ms = msSince(start);
  await close([spec.key]);
  return { ms };
}

async function handle(req: Command): Promise<unknown> {
  switch (req.cmd) {
    case "open":
      return open(req.conns, req.concurrency);
    case "close":
      return close(req.keys);
    case "config":
      ackReceived = req.ackReceived;
      return {};
    case "load":
      return load(req.spec);
    case "deliveries":
      return deliveryReport(req.reset, req.withLatencies);
    case "sendTagged":
      return sendTagged(req.key, req.chatId, req.tag);
    case "floorSend":
      return floorSend(req.key, req.tag, req.prefix, req.count, req.concurrency);
    case "burst":
      return burst(req.key, req.chatId, req.count, req.window, req.bodyBytes, req.reactions);
    case "arrivals":
      return arrivalsOf(req.chatId, req.reset);
    case "sync":
      return sync(req.spec);
    case "blobs":
      return blobs(req.conn, req.bytes);
    case "exit":
      await close();
      setImmediate(() => process.exit(0));
      return {};
  }
}

// Like real clients, every socket pings every 30 s (answered by the runtime without waking the object);
// without it the server counts a device silent for 60 s as gone.
setInterval(() => {
  for (const conn of conns.values()) sendText(conn, PING);
}, 25_000).unref();

process.on("message", (req: Request) => {
  handle(req).then(
    (value) => process.send?.({ id: req.id, ok: true, value } satisfies Reply),
    (err: unknown) => process.send?.({ id: req.id, ok: false, error: String(err) } satisfies Reply),
  );
});
process.on("disconnect", () => process.exit(0));
