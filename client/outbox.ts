/**
 * The outbox: every send waits here, under its clientMsgId, until its ack arrives. Entries are
 * persisted, so a send made before a crash or reload is still resent with the same clientMsgId
 * (the server stores a (chat, sender, clientMsgId) once, so resending never doubles a message).
 * A send is a text (maybe a reply), a file already uploaded (`attachment`, its caption the body),
 * or a change of another message: an edit, a delete, a reaction.
 */
import { SENDABLE_KINDS, type SendableKind } from "../protocol/entries";
import type { AttachmentInfo } from "../protocol/frames";
import { type ChatStorage, readJson, writeJson } from "./storage";

export interface OutboxEntry {
  chatId: string;
  clientMsgId: string;
  body: string;
  /** Absent for a text message: entries look as they did before other kinds existed. */
  kind?: Exclude<SendableKind, "text">;
  /** The seq of the message an edit, delete or reaction changes. */
  target?: number;
  /** The seq of the message a text or file replies to. */
  replyTo?: number;
  /** The upload an attachment message sends, as the server answered it: resends name the same one. */
  attachment?: AttachmentInfo;
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
    for (const raw of readJson<unknown[]>(storage, key, [])) {
      const e = storedEntry(raw);
      if (e) this.pending.set(keyOf(e.chatId, e.clientMsgId), { ...e, sentOn: -1, waiters: [] });
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
      this.pending.set(k, { ...copyOf(entry), sentOn: -1, waiters: [{ resolve, reject }] });
      this.persist();
    });
  }

  /** The entries not yet sent on connection `conn`, oldest first; marks them sent on it. */
  takeUnsent(conn: number): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const p of this.pending.values()) {
      if (p.sentOn === conn) continue;
      p.sentOn = conn;
      out.push(copyOf(p));
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
    return p && copyOf(p);
  }

  has(chatId: string, clientMsgId: string): boolean {
    return this.pending.has(keyOf(chatId, clientMsgId));
  }

  entries(): OutboxEntry[] {
    return [...this.pending.values()].map(copyOf);
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

/** The entry's own fields (not the bookkeeping of `Pending`), optional ones only where set. */
function copyOf(e: OutboxEntry): OutboxEntry {
  const out: OutboxEntry = { chatId: e.chatId, clientMsgId: e.clientMsgId, body: e.body };
  if (e.kind !== undefined) out.kind = e.kind;
  if (e.target !== undefined) out.target = e.target;
  if (e.replyTo !== undefined) out.replyTo = e.replyTo;
  if (e.attachment !== undefined) out.attachment = { ...e.attachment };
  return out;
}

/** The kinds an entry names; a text names none. */
const CHANGES: ReadonlySet<unknown> = new Set(SENDABLE_KINDS.filter((k) => k !== "text"));

/** An entry as read from storage (an older SDK's too: it stored texts only), or null when it is not one. */
function storedEntry(raw: unknown): OutboxEntry | null {
  if (typeof raw !== "object" || raw === null) return null;
  const e = raw as Record<string, unknown>;
  if (typeof e.chatId !== "string" || typeof e.clientMsgId !== "string" || typeof e.body !== "string") return null;
  const kind = e.kind === "text" ? undefined : e.kind;
  if (kind !== undefined && !CHANGES.has(kind)) return null;
  if (!isSeqOrAbsent(e.target) || !isSeqOrAbsent(e.replyTo)) return null;
  // An attachment message names its upload, and nothing else does.
  const attachment = attachmentOf(e.attachment);
  if ((kind === "attachment") !== (attachment !== undefined)) return null;
  return copyOf({
    chatId: e.chatId,
    clientMsgId: e.clientMsgId,
    body: e.body,
    kind: kind as OutboxEntry["kind"],
    target: e.target as number | undefined,
    replyTo: e.replyTo as number | undefined,
    attachment,
  });
}

function attachmentOf(value: unknown): AttachmentInfo | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const a = value as Record<string, unknown>;
  if (typeof a.id !== "string" || typeof a.size !== "number" || typeof a.contentType !== "string") return undefined;
  if (typeof a.name !== "string") return undefined;
  return { id: a.id, size: a.size, contentType: a.contentType, name: a.name };
}

function isSeqOrAbsent(value: unknown): boolean {
  return value === undefined || (typeof value === "number" && Number.isSafeInteger(value) && value > 0);
}
