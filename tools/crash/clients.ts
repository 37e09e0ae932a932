/**
 * The crash test's clients, written against the wire protocol alone (not the SDK's connection,
 * so the checker trusts nothing it checks). A sender streams its entries with a window of unacked
 * sends: mostly texts, and edits, deletes and reactions of its own latest acked texts still
 * standing. After every reconnect it resends what is unacked with the same clientMsgId and fields
 * in the original order, and a few entries already acked, whose acks must repeat the first seq
 * and ts. A recipient follows one chat: it applies what it gets by pushes and `history`, in seq
 * order, to a `MessageView`, asks for what it lacks after every `ready` and on every seq gap, and
 * remembers every entry it was ever shown.
 */
import WebSocket from "ws";
import { MessageView } from "../../client/message-view";
import type { ClientFrame, Message, ServerFrame } from "../../protocol";
import type { Ack, Entry } from "./check";

type Ready = Extract<ServerFrame, { type: "ready" }>;

const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 2_000;
/** An unacked send older than this on a live socket means the socket is stuck: reconnect. */
const STALL_MS = 15_000;
/** After every reconnect, the sender sends this many of its latest acked messages again. */
const ACKED_RESENDS = 3;
/** Shares of a sender's entries that edit, delete and react to one of its texts; the rest are texts. */
const EDIT_SHARE = 0.12;
const DELETE_SHARE = 0.05;
const REACTION_SHARE = 0.13;
/** Changes name one of this many of the sender's latest acked texts not deleted (edits stay well within the window). */
const RECENT_TARGETS = 10;
/**
 * The share of changes that go back to a message one of its latest changes named, so that a text
 * gets several edits and reactions (replaced, taken back): where one applied twice, lost or out
 * of order shows in the row.
 */
const AGAIN_SHARE = 0.5;
/** A reaction's emoji; `""` takes the sender's reaction back. */
const EMOJI = ["👍", "🎉", "😂", "🔥", ""];

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;

/** One device's socket that reconnects with exponential backoff and jitter until stopped. */
abstract class Device {
  protected ws: WebSocket | null = null;
  protected ready = false;
  private attempt = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  connects = 0;

  constructor(
    protected readonly baseUrl: string,
    private readonly token: string,
    readonly userId: string,
    readonly deviceId: string,
  ) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.terminate();
    this.ws = null;
    this.ready = false;
  }

  /** Drops the socket as a network failure would; the device reconnects by itself. */
  drop(): void {
    this.ws?.terminate();
  }

  protected abstract onReady(frame: Ready): void;
  protected abstract onFrame(frame: ServerFrame): void;

  protected send(frame: ClientFrame): boolean {
    if (!this.ready || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private open(): void {
    if (this.stopped) return;
    const url = `${this.baseUrl.replace(/^http/, "ws")}/v1/connect?device=${this.deviceId}&token=${this.token}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.on("message", (data) => {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(data)) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === "ready") {
        this.ready = true;
        this.attempt = 0;
        this.connects += 1;
        this.onReady(frame);
      } else if (this.ready) this.onFrame(frame);
    });
    const retry = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      if (this.stopped) return;
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
      this.attempt += 1;
      this.timer = setTimeout(() => this.open(), ceiling / 2 + Math.random() * (ceiling / 2));
    };
    ws.on("close", retry);
    // A refused upgrade (the server still starting) surfaces as an error, then a close.
    ws.on("error", () => ws.terminate());
  }
}

export class Sender extends Device {
  /** clientMsgId → every ack it got, in order: the first, then those of resends (the checker compares them). */
  readonly acks = new Map<string, Ack[]>();
  readonly refusals: string[] = [];
  /** Sends sent again after a reconnect, with when they were first resent. */
  readonly resent = new Map<string, number>();
  /** Resends acked with a ts from before the resend: stored before, answered with their first seq. */
  dedupedResends = 0;
  /** Every entry sent, in send order, as first sent (resends carry the same). */
  readonly entries: Entry[] = [];
  private readonly entryOf = new Map<string, Entry>();
  /** Seqs of acked texts that no delete sent names: what an edit, delete or reaction may target. */
  private readonly standing: number[] = [];
  /** The targets of its latest changes, not deleted, oldest first. */
  private changed: number[] = [];
  private next = 0;
  /** Sent but not acked, in send order. */
  private readonly unacked = new Map<string, { entry: Entry; sentAt: number }>();
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private finished: (() => void) | null = null;

  constructor(
    baseUrl: string,
    token: string,
    userId: string,
    deviceId: string,
    readonly chatId: string,
    /** clientMsgIds in the order they are to be sent. */
    readonly ids: string[],
    private readonly window: number,
  ) {
    super(baseUrl, token, userId, deviceId);
  }

  static bodyOf(clientMsgId: string): string {
    return `body of ${clientMsgId}`;
  }

  /** Resolves when every message is acked. */
  run(): Promise<void> {
    this.watchdog = setInterval(() => this.checkStall(), 1_000);
    const done = new Promise<void>((resolve) => {
      this.finished = resolve;
    });
    this.start();
    return done.finally(() => {
      if (this.watchdog) clearInterval(this.watchdog);
    });
  }

  protected onReady(): void {
    // Already acked, hence stored: each resend must be answered with the first seq and ts.
    for (const clientMsgId of [...this.acks.keys()].slice(-ACKED_RESENDS)) {
      this.sendOne(this.entryOf.get(clientMsgId) as Entry);
    }
    for (const [clientMsgId, pending] of this.unacked) {
      pending.sentAt = Date.now();
      if (!this.resent.has(clientMsgId)) this.resent.set(clientMsgId, pending.sentAt);
      this.sendOne(pending.entry);
    }
    this.fill();
  }

  get acked(): number {
    return this.acks.size;
  }

  protected onFrame(frame: ServerFrame): void {
    if (frame.type === "ack" && frame.chatId === this.chatId) {
      const ack = { seq: frame.seq, ts: frame.ts };
      const acks = this.acks.get(frame.clientMsgId);
      if (acks) acks.push(ack);
      else {
        this.acks.set(frame.clientMsgId, [ack]);
        if (ack.ts < (this.resent.get(frame.clientMsgId) ?? 0)) this.dedupedResends += 1;
        if (this.entryOf.get(frame.clientMsgId)?.kind === "text") this.standing.push(ack.seq);
      }
      this.unacked.delete(frame.clientMsgId);
      this.fill();
    } else if (frame.type === "error" && frame.id !== undefined) {
      // rate_limited and internal are to be resent; a reconnect resends everything unacked, in order.
      if (frame.code !== "rate_limited" && frame.code !== "internal")
        this.refusals.push(`${frame.code}: ${frame.message}`);
      this.drop();
    }
  }

  private fill(): void {
    while (this.ready && this.unacked.size < this.window && this.next < this.ids.length) {
      const entry = this.compose(this.ids[this.next++] as string);
      this.entries.push(entry);
      this.entryOf.set(entry.clientMsgId, entry);
      this.unacked.set(entry.clientMsgId, { entry, sentAt: Date.now() });
      this.sendOne(entry);
    }
    if (this.acks.size === this.ids.length) this.finished?.();
  }

  /**
   * The next entry: a text, or a change of a recent text the server acked (so it exists) and no
   * delete sent names (sends are stored in the order sent, so every change sent before the
   * delete lands before it, and none after it is refused).
   */
  private compose(clientMsgId: string): Entry {
    const roll = Math.random();
    const recent = this.standing.slice(-RECENT_TARGETS);
    if (recent.length === 0 || roll >= EDIT_SHARE + DELETE_SHARE + REACTION_SHARE)
      return { clientMsgId, kind: "text", body: Sender.bodyOf(clientMsgId) };
    const target = pick(this.changed.length > 0 && Math.random() < AGAIN_SHARE ? this.changed : recent);
    this.changed = [...this.changed.filter((t) => t !== target), target].slice(-RECENT_TARGETS);
    if (roll < EDIT_SHARE) return { clientMsgId, kind: "edit", body: Sender.bodyOf(clientMsgId), target };
    if (roll < EDIT_SHARE + DELETE_SHARE) {
      this.standing.splice(this.standing.lastIndexOf(target), 1);
      this.changed.pop();
      return { clientMsgId, kind: "delete", body: "", target };
    }
    return { clientMsgId, kind: "reaction", body: pick(EMOJI), target };
  }

  private sendOne(e: Entry): void {
    const { clientMsgId, kind, body, target } = e;
    // Texts go as in v1, without a kind: the default must hold too.
    const fields = kind === "text" ? {} : { kind, target };
    this.send({ type: "send", id: clientMsgId, chatId: this.chatId, clientMsgId, body, ...fields });
  }

  private checkStall(): void {
    const oldest = this.unacked.values().next().value;
    if (this.ready && oldest && Date.now() - oldest.sentAt > STALL_MS) this.drop();
  }
}

export class Recipient extends Device {
  /** The rows this device holds, contiguous from 1 to `cursor`, each entry applied once in seq order. */
  readonly view = new MessageView();
  cursor = 0;
  /**
   * Every entry this device was ever shown, by push or history; a seq shown twice as another
   * entry diverges (its body may differ: a later page shows it edited, deleted or reacted to).
   */
  readonly divergent: string[] = [];
  private readonly shown = new Map<number, string>();
  private highestShown = 0;
  private asking = false;
  /** The lastSeq the latest `ready` announced for the chat. */
  private announced = 0;
  /**
   * At the latest `ready` (null: none since `syncAfterReconnect`): this device's cursor, the lastSeq
   * it listed for the chat (null: not listed), and how many messages `history` has given since.
   */
  lastReady: { cursor: number; listed: number | null; fetched: number } | null = null;
  /** `history` pages whose messages were not in ascending seq order. */
  readonly disordered: string[] = [];
  private synced: { resolve: () => void } | null = null;

  constructor(
    baseUrl: string,
    token: string,
    userId: string,
    deviceId: string,
    readonly chatId: string,
  ) {
    super(baseUrl, token, userId, deviceId);
  }

  /** Reconnects and resolves once history after the cursor has been pulled up to what `ready` announced. */
  syncAfterReconnect(): Promise<void> {
    return new Promise((resolve) => {
      this.synced = { resolve };
      this.lastReady = null;
      this.drop();
    });
  }

  protected onReady(frame: Ready): void {
    const listed = frame.chats.find((c) => c.chatId === this.chatId)?.lastSeq ?? null;
    this.lastReady = { cursor: this.cursor, listed, fetched: 0 };
    this.announced = listed ?? this.cursor;
    this.asking = false;
    this.ask();
  }

  protected onFrame(frame: ServerFrame): void {
    if (frame.type === "message" && frame.chatId === this.chatId) {
      this.take(frame);
      if (frame.seq > this.cursor) this.ask();
      else if (this.cursor % 50 === 0) this.send({ type: "received", chatId: this.chatId, seq: this.cursor });
    } else if (frame.type === "history" && frame.chatId === this.chatId) {
      this.asking = false;
      const from = this.cursor;
      const seqs = frame.messages.map((m) => m.seq);
      if (seqs.some((seq, i) => i > 0 && seq <= (seqs[i - 1] as number)))
        this.disordered.push(`after ${from}: seqs ${seqs.slice(0, 10).join(",")}${seqs.length > 10 ? ",…" : ""}`);
      // The run uses direct chats, where no row is hidden (history visibility is for groups).
      for (const m of frame.messages) if (m.kind !== "hidden") this.take(m);
      if (this.lastReady) this.lastReady.fetched += this.cursor - from;
      this.send({ type: "received", chatId: this.chatId, seq: this.cursor });
      const stuck = this.cursor === from && !frame.more && this.highestShown > this.cursor;
      // A message was shown that the log does not have: the log lost it (asking again would loop).
      if (stuck) this.divergent.push(`seq ${this.highestShown} was shown but history after ${from} is empty`);
      if (frame.more || (this.highestShown > this.cursor && !stuck)) this.ask();
      else if (this.synced && this.cursor >= this.announced) {
        this.synced.resolve();
        this.synced = null;
      }
    } else if (frame.type === "error" && frame.id === "catch-up") {
      this.asking = false;
      this.drop();
    }
  }

  private take(m: Message): void {
    const fingerprint = `${m.sender}/${m.clientMsgId}/${m.kind}/${m.target ?? ""}`;
    const before = this.shown.get(m.seq);
    this.highestShown = Math.max(this.highestShown, m.seq);
    if (before === undefined) this.shown.set(m.seq, fingerprint);
    else if (before !== fingerprint) this.divergent.push(`seq ${m.seq}: ${before} then ${fingerprint}`);
    if (m.seq === this.cursor + 1) {
      this.view.apply(m);
      this.cursor = m.seq;
    }
  }

  private ask(): void {
    if (this.asking) return;
    this.asking = this.send({ type: "history", id: "catch-up", chatId: this.chatId, after: this.cursor, limit: 500 });
  }
}
