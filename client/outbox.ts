/**
 * The outbox: every send waits here, under its clientMsgId, until its ack arrives. Entries are
 * persisted, so a send made before a crash or reload is still resent with the same clientMsgId
 * (the server stores a (chat, sender, clientMsgId) once, so resending never doubles a message).
 */
import { type ChatStorage, readJson, writeJson } from "./storage";

export interface OutboxEntry {
  chatId: string;
  clientMsgId: string;
  body: string;
}

export interface SendResult {
  chatId: string;
  clientMsgId: string;
  seq: number;
  ts: number;
}

interface Pending extends OutboxEntry {
  /** The connection on which it was last sent; resent on any later connection. */
  sentOn: number;
  waiters: { resolve: (r: SendResult) => void; reject: (e: Error) => void }[];
}

export class Outbox {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly storage: ChatStorage,
    private readonly key: string,
  ) {
    for (const e of readJson<OutboxEntry[]>(storage, key, [])) {
      if (typeof e?.chatId === "string" && typeof e.clientMsgId === "string" && typeof e.body === "string") {
        this.pending.set(keyOf(e.chatId, e.clientMsgId), { ...e, sentOn: -1, waiters: [] });
      }
    }
  }

  /** Queues a send (or joins the one already queued under the same clientMsgId). */
  add(entry: OutboxEntry): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      const k = keyOf(entry.chatId, entry.clientMsgId);
      const existing = this.pending.get(k);
      if (existing) {
        existing.waiters.push({ resolve, reject });
        return;
      }
      this.pending.set(k, { ...entry, sentOn: -1, waiters: [{ resolve, reject }] });
      this.persist();
    });
  }

  /** The entries not yet sent on connection `conn`, oldest first; marks them sent on it. */
  takeUnsent(conn: number): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const p of this.pending.values()) {
      if (p.sentOn === conn) continue;
      p.sentOn = conn;
      out.push({ chatId: p.chatId, clientMsgId: p.clientMsgId, body: p.body });
    }
    return out;
  }

  /** Lets an entry be sent again on the current connection (after a `rate_limited` refusal). */
  markUnsent(chatId: string, clientMsgId: string): void {
    const p = this.pending.get(keyOf(chatId, clientMsgId));
    if (p) p.sentOn = -1;
  }

  /** The ack arrived: removes the entry and resolves its promises. Answers whether it was pending. */
  acked(result: SendResult): boolean {
    const k = keyOf(result.chatId, result.clientMsgId);
    const p = this.pending.get(k);
    if (!p) return false;
    this.pending.delete(k);
    this.persist();
    for (const w of p.waiters) w.resolve(result);
    return true;
  }

  /** The server refused the send for good (e.g. forbidden, too large): drops it. */
  failed(chatId: string, clientMsgId: string, error: Error): boolean {
    const k = keyOf(chatId, clientMsgId);
    const p = this.pending.get(k);
    if (!p) return false;
    this.pending.delete(k);
    this.persist();
    for (const w of p.waiters) w.reject(error);
    return true;
  }

  get(chatId: string, clientMsgId: string): OutboxEntry | undefined {
    const p = this.pending.get(keyOf(chatId, clientMsgId));
    return p && { chatId: p.chatId, clientMsgId: p.clientMsgId, body: p.body };
  }

  has(chatId: string, clientMsgId: string): boolean {
    return this.pending.has(keyOf(chatId, clientMsgId));
  }

  entries(): OutboxEntry[] {
    return [...this.pending.values()].map(({ chatId, clientMsgId, body }) => ({ chatId, clientMsgId, body }));
  }

  get size(): number {
    return this.pending.size;
  }

  /** Rejects every waiting promise (the client was closed); entries stay persisted for next time. */
  abandon(error: Error): void {
    for (const p of this.pending.values()) {
      for (const w of p.waiters.splice(0)) w.reject(error);
    }
  }

  private persist(): void {
    writeJson(this.storage, this.key, this.entries());
  }
}

function keyOf(chatId: string, clientMsgId: string): string {
  return `${chatId}\n${clientMsgId}`;
}
