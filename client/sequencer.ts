/**
 * Per-chat ordering: messages may arrive pushed, from history pages or as the echo of an own
 * ack, in any order and more than once. The sequencer passes each one on exactly once, in seq
 * order, and reports a gap (a message above cursor + 1) so the client can fetch what is missing.
 */
import type { Message } from "../protocol/frames";
import type { Cursors } from "./cursors";

/** Messages held above a gap, per chat; more are dropped (history will bring them again). */
const MAX_BUFFERED = 5_000;

export class Sequencer {
  private readonly buffers = new Map<string, Map<number, Message>>();

  constructor(
    private readonly cursors: Cursors,
    private readonly deliver: (message: Message) => void,
  ) {}

  /**
   * Takes messages of one chat; delivers those that are next in line. Answers true when
   * messages above a gap remain buffered (the caller should fetch history after the cursor).
   */
  add(chatId: string, messages: readonly Message[]): boolean {
    let buffer = this.buffers.get(chatId);
    let cursor = this.cursors.get(chatId);
    for (const m of messages) {
      if (m.chatId !== chatId || m.seq <= cursor) continue;
      if (!buffer) {
        buffer = new Map();
        this.buffers.set(chatId, buffer);
      }
      if (buffer.size < MAX_BUFFERED || m.seq === cursor + 1) buffer.set(m.seq, m);
    }
    if (!buffer) return false;
    for (let next = buffer.get(cursor + 1); next; next = buffer.get(cursor + 1)) {
      buffer.delete(next.seq);
      cursor = next.seq;
      // Advance before delivering, so a listener that calls back into the client sees the new cursor.
      this.cursors.advance(chatId, cursor);
      this.deliver(next);
    }
    if (buffer.size === 0) this.buffers.delete(chatId);
    return buffer.size > 0;
  }

  /** Whether messages above a gap are waiting in this chat. */
  hasGap(chatId: string): boolean {
    return (this.buffers.get(chatId)?.size ?? 0) > 0;
  }

  /** The chats with messages waiting above a gap. */
  gaps(): string[] {
    return [...this.buffers.keys()];
  }

  /** Forgets what is buffered for a chat (e.g. the user left it). */
  drop(chatId: string): void {
    this.buffers.delete(chatId);
  }
}
