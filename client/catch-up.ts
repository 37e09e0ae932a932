/**
 * Syncing a chat from the device's cursor: one `history` request per chat at a time, paging on
 * while the log has more or rows wait above a gap, and stopping when a page brings nothing new
 * (a hidden run moves the cursor past all of it, so it is never asked for twice).
 */
import type { ClientFrame, ServerFrame } from "../protocol/frames";
import type { LogRow } from "./hidden-rows";

export interface CatchUpHost {
  live(): boolean;
  send(frame: ClientFrame): boolean;
  cursor(chatId: string): number;
  /** Rows of a page, in order or not, to the sequencer. */
  take(chatId: string, rows: readonly LogRow[]): void;
  hasGap(chatId: string): boolean;
}

export class CatchUp {
  private nextId = 0;
  /** Chats with a request in flight (by frame id), and whether another is wanted after it. */
  private inFlight = new Map<string, { id: string; again: boolean }>();
  private readonly wanted = new Set<string>();

  constructor(
    private readonly host: CatchUpHost,
    private readonly pageSize: number,
  ) {}

  /** Asks for the chat's rows after the cursor now, or once live (after the one in flight). */
  request(chatId: string): void {
    const pending = this.inFlight.get(chatId);
    if (pending) {
      pending.again = true;
      return;
    }
    this.wanted.add(chatId);
    if (!this.host.live()) return;
    const id = `h:${++this.nextId}`;
    const after = this.host.cursor(chatId);
    if (!this.host.send({ type: "history", id, chatId, after, limit: this.pageSize })) return;
    this.wanted.delete(chatId);
    this.inFlight.set(chatId, { id, again: false });
  }

  /** A new connection: what was in flight is lost with the old socket, so it is wanted again. */
  reset(alsoWanted: Iterable<string>): void {
    for (const chatId of [...this.inFlight.keys(), ...alsoWanted]) this.wanted.add(chatId);
    this.inFlight = new Map();
  }

  want(chatId: string): void {
    this.wanted.add(chatId);
  }

  /** Sends every request that waits (after `ready`, or a retry). */
  flush(): void {
    for (const chatId of [...this.wanted]) this.request(chatId);
  }

  onHistory(frame: Extract<ServerFrame, { type: "history" }>): void {
    const pending = frame.id ? this.inFlight.get(frame.chatId) : undefined;
    if (!frame.id || pending?.id !== frame.id) return;
    this.inFlight.delete(frame.chatId);
    const before = this.host.cursor(frame.chatId);
    this.host.take(frame.chatId, frame.messages);
    const advanced = this.host.cursor(frame.chatId) > before;
    // Page on while the log has more, or while rows wait above a gap; stop if a page brought nothing.
    if (advanced && (frame.more || pending.again || this.host.hasGap(frame.chatId))) this.request(frame.chatId);
  }

  /** The chat of a history request that failed, if `id` was one; `retry`: wanted again later. */
  failed(id: string, retry: boolean): string | undefined {
    for (const [chatId, pending] of this.inFlight) {
      if (pending.id !== id) continue;
      this.inFlight.delete(chatId);
      if (retry) this.wanted.add(chatId);
      else this.wanted.delete(chatId);
      return chatId;
    }
    return undefined;
  }
}
