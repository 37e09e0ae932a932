/**
 * The SDK's privacy parts without a server: hidden rows (the sequencer, the gap repair against
 * a scripted server, MessageView's one marker per run) and tick watermarks kept across reloads.
 */
import { describe, expect, it } from "vitest";
import { ChatClient, type HiddenRow, type Message, MessageView, memoryStorage, type SocketLike } from "../../client";
import { Cursors } from "../../client/cursors";
import type { TickEvent } from "../../client/events";
import { Sequencer } from "../../client/sequencer";
import { Ticks } from "../../client/ticks";

const chatId = "g~01J0000000000000000000000";

const msg = (seq: number, sender = "ann"): Message => ({
  chatId,
  seq,
  sender,
  clientMsgId: `c${seq}`,
  body: `m${seq}`,
  ts: seq,
  kind: "text",
});

const hidden = (seq: number, through: number): HiddenRow => ({ chatId, seq, kind: "hidden", through });

describe("hidden rows in the sequencer", () => {
  it("a hidden row holds its whole run: the cursor jumps to `through` and what follows is delivered", () => {
    const out: string[] = [];
    const cursors = new Cursors(memoryStorage(), "k");
    const seq = new Sequencer(cursors, (r) => out.push(r.kind === "hidden" ? `h${r.seq}-${r.through}` : `m${r.seq}`));
    expect(seq.add(chatId, [msg(11)])).toBe(true);
    expect(seq.add(chatId, [hidden(1, 10)])).toBe(false);
    expect(out).toEqual(["h1-10", "m11"]);
    expect(cursors.get(chatId)).toBe(11);
  });

  it("a part of a run that starts at or below the cursor covers only the rest; one wholly below is ignored", () => {
    const out: string[] = [];
    const cursors = new Cursors(memoryStorage(), "k");
    cursors.advance(chatId, 5);
    const seq = new Sequencer(cursors, (r) => out.push(r.kind === "hidden" ? `h${r.seq}-${r.through}` : `m${r.seq}`));
    seq.add(chatId, [hidden(1, 4), hidden(3, 8), msg(9)]);
    expect(out).toEqual(["h6-8", "m9"]);
    expect(cursors.get(chatId)).toBe(9);
  });

  it("rows buffered inside a run are dropped, and a buffered run reaching past it goes on after it", () => {
    const out: string[] = [];
    const cursors = new Cursors(memoryStorage(), "k");
    const seq = new Sequencer(cursors, (r) => out.push(r.kind === "hidden" ? `h${r.seq}-${r.through}` : `m${r.seq}`));
    expect(seq.add(chatId, [hidden(6, 12), msg(13)])).toBe(true);
    expect(seq.add(chatId, [hidden(1, 8)])).toBe(false);
    expect(out).toEqual(["h1-8", "h9-12", "m13"]);
    expect(seq.hasGap(chatId)).toBe(false);
  });
});

/** A scripted server on a fake socket: `history` answers from `log`, one row per hidden run, clipped to the page. */
class ScriptedServer {
  readonly histories: { after: number; limit: number }[] = [];
  private socket: FakeSocket | null = null;
  private idle: (() => void) | null = null;

  constructor(
    readonly log: (Message | HiddenRow)[],
    private readonly ready: Record<string, unknown>,
  ) {}

  readonly createSocket = (): SocketLike => {
    this.socket = new FakeSocket((frame) => this.onFrame(frame));
    const socket = this.socket;
    queueMicrotask(() => socket.deliver(this.ready));
    return socket;
  };

  push(frame: Record<string, unknown>): void {
    this.socket?.deliver(frame);
  }

  /** Resolves once the client handled a history answer without asking for another page. */
  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.idle = resolve;
    });
  }

  private onFrame(frame: Record<string, unknown>): void {
    if (frame.type !== "history") return;
    const after = Number(frame.after);
    const limit = Number(frame.limit);
    this.histories.push({ after, limit });
    const rows: (Message | HiddenRow)[] = [];
    for (const row of this.log) {
      if (rows.length === limit) break;
      const through = row.kind === "hidden" ? row.through : row.seq;
      if (through <= after) continue;
      rows.push(row.kind === "hidden" ? { ...row, seq: Math.max(row.seq, after + 1) } : row);
    }
    const last = rows.at(-1);
    const end = last ? (last.kind === "hidden" ? last.through : last.seq) : after;
    const more = this.log.some((r) => r.seq > end);
    queueMicrotask(() => {
      const asked = this.histories.length;
      this.socket?.deliver({ type: "history", id: frame.id, chatId: frame.chatId, messages: rows, more });
      // The client asks for the next page while it handles this one, or not at all.
      if (this.histories.length === asked) this.idle?.();
    });
  }
}

class FakeSocket implements SocketLike {
  readyState = 1;
  private readonly listeners: ((event: { data: unknown }) => void)[] = [];

  constructor(private readonly onFrame: (frame: Record<string, unknown>) => void) {}

  send(data: string): void {
    if (data !== '{"type":"ping"}') this.onFrame(JSON.parse(data) as Record<string, unknown>);
  }

  close(): void {
    this.readyState = 3;
  }

  deliver(frame: Record<string, unknown>): void {
    for (const listener of this.listeners) listener({ data: JSON.stringify(frame) });
  }

  addEventListener(type: "message" | "close" | "error", listener: (event: never) => void): void {
    if (type === "message") this.listeners.push(listener as (event: { data: unknown }) => void);
  }
}

function clientOn(server: ScriptedServer, pageSize: number, storage = memoryStorage()): ChatClient {
  return new ChatClient({
    baseUrl: "http://127.0.0.1:1",
    userId: "cat",
    deviceId: "dev-1",
    getToken: async () => "t",
    createSocket: server.createSocket,
    storage,
    historyPageSize: pageSize,
  });
}

/** Resolves once `check` holds, checked after every event of the client (no sleeps). */
function until(client: ChatClient, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const offs = (["message", "hidden", "state"] as const).map((type) => client.on(type, () => settle()));
    const settle = () => {
      if (!check()) return;
      for (const off of offs) off();
      resolve();
    };
    settle();
  });
}

describe("gap repair over hidden runs", () => {
  it("syncs a late member with one request per page, never asking for a hidden run twice", async () => {
    // cat joined at seq 301: 1..300 are hidden from it; two more runs while it was out.
    const log = [hidden(1, 300), msg(301), msg(302), hidden(303, 900), msg(901), hidden(902, 950), msg(951)];
    const ready = { type: "ready", userId: "cat", deviceId: "dev-1", chats: [] };
    const server = new ScriptedServer(log, ready);
    const client = clientOn(server, 2);
    const got: string[] = [];
    client.on("message", (m) => got.push(`m${m.seq}`));
    client.on("hidden", (r) => got.push(`h${r.seq}-${r.through}`));
    client.connect();
    await until(client, () => client.state === "open");
    // A message pushed far above the cursor: the gap is repaired from history.
    const settled = server.settled();
    server.push({ type: "message", ...msg(952) });
    await settled;
    client.close();
    expect(got).toEqual(["h1-300", "m301", "m302", "h303-900", "m901", "h902-950", "m951", "m952"]);
    expect(server.histories.map((h) => h.after)).toEqual([0, 301, 900, 950]);
  });

  it("a chat in `ready` whose whole log is hidden is caught up with one request", async () => {
    const log = [hidden(1, 5_000)];
    const ready = {
      type: "ready",
      userId: "cat",
      deviceId: "dev-1",
      chats: [{ chatId, lastSeq: 5_000, readSeq: 0, unread: 0, receipts: { delivered: 0, read: 0 } }],
    };
    const server = new ScriptedServer(log, ready);
    const client = clientOn(server, 50);
    const runs: HiddenRow[] = [];
    client.on("hidden", (r) => runs.push(r));
    const settled = server.settled();
    client.connect();
    await settled;
    client.close();
    expect(client.cursor(chatId)).toBe(5_000);
    expect(runs).toEqual([hidden(1, 5_000)]);
    expect(server.histories).toHaveLength(1);
  });
});

describe("hidden runs in MessageView", () => {
  it("joins the parts of a run from different pages into one marker, one per run", () => {
    const view = new MessageView();
    // The newest page first (scrolling up), clipping the first run; then the older page.
    view.apply(hidden(40, 60), msg(61), hidden(62, 70), msg(71));
    view.apply(hidden(10, 39));
    view.apply(hidden(1, 9));
    expect(view.shown().map((r) => (r.kind === "hidden" ? `h${r.seq}-${r.through}` : `m${r.seq}`))).toEqual([
      "h1-60",
      "m61",
      "h62-70",
      "m71",
    ]);
    expect(view.hiddenRuns()).toEqual([hidden(1, 60), hidden(62, 70)]);
    expect(view.hiddenAt(50)).toEqual(hidden(1, 60));
    expect(view.hiddenAt(61)).toBeUndefined();
    expect(view.rows().map((m) => m.seq)).toEqual([61, 71]);
    expect(view.lastSeq()).toBe(71);
  });

  it("the same part twice, or a part inside a run held, changes nothing", () => {
    const view = new MessageView();
    view.apply(hidden(1, 20), hidden(1, 20), hidden(5, 9));
    expect(view.shown()).toEqual([hidden(1, 20)]);
    expect(view.lastSeq()).toBe(20);
  });
});

describe("tick watermarks", () => {
  it("are kept in storage: a new instance with the same storage shows them before any receipt", () => {
    const storage = memoryStorage();
    const moved: string[] = [];
    const first = new Ticks(() => {}, {
      storage,
      key: "t",
      moved: (c, w) => moved.push(`${c}:${w.delivered}/${w.read}`),
    });
    first.restore("d~a~b", { delivered: 7, read: 4 });
    first.restore("d~a~b", { delivered: 6, read: 3 });
    first.receipt("d~a~b", 8, "delivered");
    expect(moved).toEqual(["d~a~b:7/0", "d~a~b:7/4", "d~a~b:8/4"]);
    const ticks: TickEvent[] = [];
    const again = new Ticks((e) => ticks.push(e), { storage, key: "t" });
    expect(again.watermarks("d~a~b")).toEqual({ delivered: 8, read: 4 });
    expect([4, 5, 8, 9].map((s) => again.tickOf("d~a~b", s))).toEqual(["read", "delivered", "delivered", "sent"]);
    again.sent("d~a~b", 3, "x3");
    expect(ticks.map((e) => e.status)).toEqual(["sent", "delivered", "read"]);
  });

  it("ChatClient takes them from `ready` and emits `watermarks`, and a reload with the same storage keeps them", async () => {
    const storage = memoryStorage();
    const ready = {
      type: "ready",
      userId: "cat",
      deviceId: "dev-1",
      chats: [{ chatId, lastSeq: 0, readSeq: 0, unread: 0, receipts: { delivered: 12, read: 9 } }],
    };
    const client = clientOn(new ScriptedServer([], ready), 50, storage);
    const events: unknown[] = [];
    client.on("watermarks", (w) => events.push(w));
    client.connect();
    await until(client, () => client.state === "open");
    client.close();
    expect(events).toEqual([
      { chatId, delivered: 12, read: 0 },
      { chatId, delivered: 12, read: 9 },
    ]);
    const reloaded = clientOn(new ScriptedServer([], ready), 50, storage);
    expect(reloaded.watermarks(chatId)).toEqual({ delivered: 12, read: 9 });
    expect([9, 10, 13].map((s) => reloaded.tickOf(chatId, s))).toEqual(["read", "delivered", "sent"]);
  });
});
