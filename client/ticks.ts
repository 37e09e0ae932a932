/**
 * Ticks of the user's own messages. Acks make a message "sent"; `receipt` frames are
 * watermarks (every message up to seq is delivered, or read), which move each own message
 * forward, never back. Only the newest own messages of each chat are followed. The watermarks
 * themselves are kept per chat (in the client's storage when given one) and restored from the
 * `receipts` of `ready` and the chat list, so a reload shows the right ticks without asking
 * message by message.
 */
import type { ReceiptStatus } from "../protocol/frames";
import type { TickEvent, TickStatus, Watermarks } from "./events";
import { type ChatStorage, readJson, writeJson } from "./storage";

const RANK: Record<TickStatus, number> = { sent: 0, delivered: 1, read: 2 };
/** Own messages followed per chat; the oldest beyond this are forgotten. */
const MAX_TRACKED = 2_000;

interface ChatTicks {
  own: Map<number, { clientMsgId: string; status: TickStatus }>;
  delivered: number;
  read: number;
}

export interface TicksOptions {
  /** Where the watermarks are kept across reloads, under `key`. */
  storage?: ChatStorage;
  key?: string;
  /** A chat's watermarks moved forward. */
  moved?: (chatId: string, watermarks: Watermarks) => void;
}

export class Ticks {
  private readonly chats = new Map<string, ChatTicks>();

  constructor(
    private readonly emit: (tick: TickEvent) => void,
    private readonly options: TicksOptions = {},
  ) {
    const { storage, key } = options;
    if (!storage || key === undefined) return;
    for (const [chatId, marks] of Object.entries(readJson<Record<string, unknown>>(storage, key, {}))) {
      if (!Array.isArray(marks)) continue;
      const [delivered, read] = marks.map((n) => (Number.isSafeInteger(n) && n > 0 ? Number(n) : 0));
      this.chats.set(chatId, { own: new Map(), delivered: Math.max(delivered ?? 0, read ?? 0), read: read ?? 0 });
    }
  }

  /** An own message is stored (ack, or seen in the log): "sent", or more if a receipt covers it. */
  sent(chatId: string, seq: number, clientMsgId: string): void {
    const chat = this.chat(chatId);
    if (chat.own.has(seq)) return;
    chat.own.set(seq, { clientMsgId, status: "sent" });
    this.emit({ chatId, seq, clientMsgId, status: "sent" });
    if (seq <= chat.read) this.raise(chatId, chat, seq, "read");
    else if (seq <= chat.delivered) this.raise(chatId, chat, seq, "delivered");
    if (chat.own.size > MAX_TRACKED) {
      const oldest = Math.min(...chat.own.keys());
      chat.own.delete(oldest);
    }
  }

  /** A `receipt` frame: every own message up to seq has reached `status`. */
  receipt(chatId: string, seq: number, status: ReceiptStatus): void {
    const chat = this.chat(chatId);
    const moved = seq > chat.delivered || (status === "read" && seq > chat.read);
    if (status === "read") chat.read = Math.max(chat.read, seq);
    chat.delivered = Math.max(chat.delivered, seq);
    for (const s of [...chat.own.keys()].sort((a, b) => a - b)) {
      if (s > seq) break;
      this.raise(chatId, chat, s, status);
    }
    if (moved) this.movedOn(chatId, chat);
  }

  /** The `receipts` of a `ready` entry or a chat list row: the watermarks as the server keeps them. */
  restore(chatId: string, watermarks: Watermarks): void {
    this.receipt(chatId, watermarks.delivered, "delivered");
    this.receipt(chatId, watermarks.read, "read");
  }

  /** Every own message of the chat up to `delivered` is delivered, up to `read` read. */
  watermarks(chatId: string): Watermarks {
    const chat = this.chats.get(chatId);
    return { delivered: chat?.delivered ?? 0, read: chat?.read ?? 0 };
  }

  /** The tick of any own message of the chat, from the watermarks (stored own messages only). */
  tickOf(chatId: string, seq: number): TickStatus {
    const { delivered, read } = this.watermarks(chatId);
    return seq <= read ? "read" : seq <= delivered ? "delivered" : "sent";
  }

  /** The status of an own message that is still followed, if any. */
  statusOf(chatId: string, seq: number): TickStatus | undefined {
    const chat = this.chats.get(chatId);
    if (!chat) return undefined;
    return chat.own.get(seq)?.status;
  }

  private raise(chatId: string, chat: ChatTicks, seq: number, status: TickStatus): void {
    const entry = chat.own.get(seq);
    if (!entry) return;
    // A read receipt implies delivery: show the double tick before the blue one.
    for (const step of ["delivered", "read"] as const) {
      if (RANK[step] > RANK[status] || RANK[entry.status] >= RANK[step]) continue;
      entry.status = step;
      this.emit({ chatId, seq, clientMsgId: entry.clientMsgId, status: step });
    }
  }

  private movedOn(chatId: string, chat: ChatTicks): void {
    const { storage, key, moved } = this.options;
    if (storage && key !== undefined) {
      const all: Record<string, [number, number]> = {};
      for (const [id, c] of this.chats) if (c.delivered > 0) all[id] = [c.delivered, c.read];
      writeJson(storage, key, all);
    }
    moved?.(chatId, { delivered: chat.delivered, read: chat.read });
  }

  private chat(chatId: string): ChatTicks {
    let chat = this.chats.get(chatId);
    if (!chat) {
      chat = { own: new Map(), delivered: 0, read: 0 };
      this.chats.set(chatId, chat);
    }
    return chat;
  }
}
