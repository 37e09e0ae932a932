/**
 * The user's inbox in the user object's SQLite: one row per chat with its last seq and read
 * mark, and per device the seq up to which that device holds each chat.
 *
 * The chat rows' `lastSeq` is written at once (sync depends on it). Device cursors and the
 * delivered/read marks are kept in memory and written together, with the next inbox write or
 * within a second: each only moves forward and a lost update costs a resend, never a message,
 * so a burst of `received` frames costs one commit instead of one each.
 */
import { eq, sql } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type { ChatCursor, ChatType } from "../../protocol";
import * as schema from "./schema";

export type InboxRow = typeof schema.inbox.$inferSelect;
type Db = DrizzleSqliteDODatabase<typeof schema>;

/** How long cursor and mark updates may wait in memory before they are written. */
export const CURSOR_FLUSH_MS = 1_000;

function preparedWrites(db: Db) {
  const p = { chatId: sql.placeholder("chatId"), deviceId: sql.placeholder("deviceId") };
  const held = sql.placeholder("held");
  return {
    upsertChat: db
      .insert(schema.inbox)
      .values({
        chatId: p.chatId,
        type: sql.placeholder("type"),
        title: sql.placeholder("title"),
        lastSeq: sql.placeholder("lastSeq"),
        active: true,
      })
      .onConflictDoUpdate({
        target: schema.inbox.chatId,
        set: { title: sql`excluded.title`, lastSeq: sql`excluded.last_seq`, active: true },
      })
      .prepare(),
    marks: db
      .update(schema.inbox)
      .set({ readSeq: sql`${sql.placeholder("read")}`, deliveredSeq: sql`${sql.placeholder("delivered")}` })
      .where(eq(schema.inbox.chatId, p.chatId))
      .prepare(),
    held: db
      .insert(schema.deviceCursors)
      .values({ deviceId: p.deviceId, chatId: p.chatId, heldSeq: held })
      .onConflictDoUpdate({
        target: [schema.deviceCursors.deviceId, schema.deviceCursors.chatId],
        set: { heldSeq: sql`max(${schema.deviceCursors.heldSeq}, excluded.held_seq)` },
      })
      .prepare(),
  };
}

const cursorKey = (deviceId: string, chatId: string) => `${deviceId}\n${chatId}`;

export class Inbox {
  private readonly rows = new Map<string, InboxRow>();
  /** `device\nchat` → the seq up to which that device holds the chat. */
  private readonly held = new Map<string, number>();
  private readonly dirtyHeld = new Set<string>();
  private readonly dirtyMarks = new Set<string>();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly writes: ReturnType<typeof preparedWrites>;

  constructor(private readonly db: Db) {
    for (const row of db.select().from(schema.inbox).all()) this.rows.set(row.chatId, row);
    for (const c of db.select().from(schema.deviceCursors).all()) {
      this.held.set(cursorKey(c.deviceId, c.chatId), c.heldSeq);
    }
    this.writes = preparedWrites(db);
  }

  get(chatId: string): InboxRow | undefined {
    return this.rows.get(chatId);
  }

  all(): InboxRow[] {
    return [...this.rows.values()].filter((r) => r.active);
  }

  /** Records that the chat exists for this user, and that its log reaches `lastSeq`. */
  upsert(chatId: string, type: ChatType, title: string | null, lastSeq: number): InboxRow {
    const row = this.rows.get(chatId);
    if (row && row.lastSeq >= lastSeq && row.title === title && row.active) return row;
    const next: InboxRow = {
      chatId,
      type,
      title,
      lastSeq: Math.max(row?.lastSeq ?? 0, lastSeq),
      readSeq: row?.readSeq ?? 0,
      deliveredSeq: row?.deliveredSeq ?? 0,
      active: true,
    };
    this.writes.upsertChat.run({ chatId, type, title, lastSeq: next.lastSeq });
    this.rows.set(chatId, next);
    // This write commits anyway: pending cursors ride along in the same commit.
    this.flush();
    return next;
  }

  /** The user left the chat or was removed: it drops out of lists and sync. */
  deactivate(chatId: string): void {
    const row = this.rows.get(chatId);
    if (!row?.active) return;
    row.active = false;
    this.db.update(schema.inbox).set({ active: false }).where(eq(schema.inbox.chatId, chatId)).run();
  }

  /** Whether this user is in the direct chat `directId` or in any of `chatIds`. */
  sharesAny(directId: string, chatIds: readonly string[]): boolean {
    if (this.rows.get(directId)?.active) return true;
    return chatIds.some((id) => this.rows.get(id)?.active === true);
  }

  /** Takes the chat's word for this user's delivered and read marks (they only move forward). */
  setMarks(chatId: string, marks: { delivered: number; read: number }): { readMoved: boolean } {
    const row = this.rows.get(chatId);
    if (!row) return { readMoved: false };
    const readMoved = marks.read > row.readSeq;
    if (!readMoved && marks.delivered <= row.deliveredSeq) return { readMoved };
    row.readSeq = Math.max(row.readSeq, marks.read);
    row.deliveredSeq = Math.max(row.deliveredSeq, marks.delivered);
    this.dirtyMarks.add(chatId);
    this.scheduleFlush();
    return { readMoved };
  }

  /** Moves what `deviceId` holds of `chatId` forward to `seq` (capped at the chat's last seq). */
  markHeld(deviceId: string, chatId: string, seq: number): void {
    const row = this.rows.get(chatId);
    if (!row) return;
    this.moveHeld(deviceId, chatId, Math.min(seq, row.lastSeq));
  }

  /** A device's own send: it holds that seq too, if it held everything before it. */
  markSent(deviceId: string, chatId: string, seq: number): void {
    // Not capped at the inbox's last seq: the ack may overtake the fan-out to this very object.
    if ((this.held.get(cursorKey(deviceId, chatId)) ?? 0) >= seq - 1) this.moveHeld(deviceId, chatId, seq);
  }

  /** The chats with messages that `deviceId` does not hold yet: the `ready` frame's list. */
  unheldBy(deviceId: string): ChatCursor[] {
    return this.all()
      .filter((r) => r.lastSeq > (this.held.get(cursorKey(deviceId, r.chatId)) ?? 0))
      .map((r) => ({ chatId: r.chatId, lastSeq: r.lastSeq, readSeq: r.readSeq }));
  }

  /** Writes the pending cursors and marks now (they commit with the current event). */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.dirtyHeld.size === 0 && this.dirtyMarks.size === 0) return;
    const held = [...this.dirtyHeld];
    const marks = [...this.dirtyMarks];
    this.dirtyHeld.clear();
    this.dirtyMarks.clear();
    // No explicit transaction: writes made in one synchronous run share the event's implicit
    // one, while an explicit one would first commit the inbox write this flush rides along with.
    for (const key of held) {
      const [deviceId, chatId] = key.split("\n") as [string, string];
      this.writes.held.run({ deviceId, chatId, held: this.held.get(key) ?? 0 });
    }
    for (const chatId of marks) {
      const row = this.rows.get(chatId);
      if (row) this.writes.marks.run({ chatId, read: row.readSeq, delivered: row.deliveredSeq });
    }
  }

  private moveHeld(deviceId: string, chatId: string, seq: number): void {
    const key = cursorKey(deviceId, chatId);
    if (seq <= 0 || seq <= (this.held.get(key) ?? 0)) return;
    this.held.set(key, seq);
    this.dirtyHeld.add(key);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => this.flush(), CURSOR_FLUSH_MS);
  }
}
