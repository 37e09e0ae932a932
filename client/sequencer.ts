/**
 * Per-chat ordering: messages may arrive pushed, from history pages or as the echo of an own
 * ack, in any order and more than once. The sequencer passes each one on exactly once, in seq
 * order, and reports a gap (a message above cursor + 1) so the client can fetch what is missing.
 * A hidden row holds every seq of its run: the cursor moves to its `through` at once.
 */
import type { Cursors } from "./cursors";
import { isHidden, type LogRow, lastSeqOf } from "./hidden-rows";

/** Messages held above a gap, per chat; more are dropped (history will bring them again). */
const MAX_BUFFERED = 5_000;

export class Sequencer {
  private readonly buffers = new Map<string, Map<number, LogRow>>();

  constructor(
    private readonly cursors: Cursors,
    private readonly deliver: (row: LogRow) => void,
  ) {}

  /**
   * Takes rows of one chat; delivers those that are next in line. Answers true when rows above
   * a gap remain buffered (the caller should fetch history after the cursor).
   */
  add(chatId: string, rows: readonly LogRow[]): boolean {
    let buffer = this.buffers.get(chatId);
    let cursor = this.cursors.get(chatId);
    for (const r of rows) {
      if (r.chatId !== chatId || lastSeqOf(r) <= cursor) continue;
      if (!buffer) {
        buffer = new Map();
        this.buffers.set(chatId, buffer);
      }
      const row = startAfter(r, cursor);
      const held = buffer.get(row.seq);
      // Two parts of one run from different pages: the longer one stands.
      if (held && lastSeqOf(held) > lastSeqOf(row)) continue;
      if (buffer.size < MAX_BUFFERED || row.seq === cursor + 1) buffer.set(row.seq, row);
    }
    if (!buffer) return false;
    for (let next = buffer.get(cursor + 1); next; next = buffer.get(cursor + 1)) {
      buffer.delete(next.seq);
      cursor = lastSeqOf(next);
      // Advance before delivering, so a listener that calls back into the client sees the new cursor.
      this.cursors.advance(chatId, cursor);
      if (isHidden(next)) settleBelow(buffer, cursor);
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

/** A hidden run begun at or below the cursor covers the rest of it from cursor + 1. */
function startAfter(row: LogRow, cursor: number): LogRow {
  return isHidden(row) && row.seq <= cursor ? { ...row, seq: cursor + 1 } : row;
}

/** After a hidden run moved the cursor: rows it covered go, a run reaching past it starts after it. */
function settleBelow(buffer: Map<number, LogRow>, cursor: number): void {
  for (const [seq, row] of buffer) {
    if (seq > cursor) continue;
    buffer.delete(seq);
    if (lastSeqOf(row) > cursor) {
      const rest = startAfter(row, cursor);
      const held = buffer.get(rest.seq);
      if (!held || lastSeqOf(held) < lastSeqOf(rest)) buffer.set(rest.seq, rest);
    }
  }
}
