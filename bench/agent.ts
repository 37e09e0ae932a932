/**
 * A bench client agent: a child process holding many real WebSocket clients (`ws`), driven by
 * the bench over IPC. Latencies use `process.hrtime`, the machine-wide monotonic clock, written
 * into each message body, so a recipient in another process can time the delivery. Here: the
 * commands (loads, bursts, syncs, blobs) and the IPC loop; the sockets are in `agent-conns.ts`.
 */
import { type ClientFrame, PING, PONG, type SendFrame } from "../protocol/frames";
import {
  arrivalsOf,
  bodyOf,
  close,
  connOf,
  conns,
  deliveryReport,
  msSince,
  nextFrame,
  nowNs,
  open,
  openOne,
  send,
  sendText,
  setAckReceived,
} from "./agent-conns";
import type {
  Answers,
  Command,
  ConnSpec,
  LoadResult,
  LoadSpec,
  Reply,
  Request,
  SyncResult,
  SyncSpec,
} from "./agent-protocol";

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
      setAckReceived(req.ackReceived);
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
