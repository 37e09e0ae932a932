/**
 * The user's inbox in the user object's SQLite: one row per chat with its last seq and read
 * mark, and per device the seq up to which that device holds each chat.
 */
import { and, eq, sql } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type { ChatCursor, ChatType } from "../../protocol";
import * as schema from "./schema";

export type InboxRow = typeof schema.inbox.$inferSelect;

export class Inbox {
  private readonly rows = new Map<string, InboxRow>();

  constructor(private readonly db: DrizzleSqliteDODatabase<typeof schema>) {
    for (const row of db.select().from(schema.inbox).all()) this.rows.set(row.chatId, row);
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
    this.db
      .insert(schema.inbox)
      .values(next)
      .onConflictDoUpdate({ target: schema.inbox.chatId, set: { title, lastSeq: next.lastSeq, active: true } })
      .run();
    this.rows.set(chatId, next);
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
    this.db
      .update(schema.inbox)
      .set({ readSeq: row.readSeq, deliveredSeq: row.deliveredSeq })
      .where(eq(schema.inbox.chatId, chatId))
      .run();
    return { readMoved };
  }

  /** Moves what `deviceId` holds of `chatId` forward to `seq` (capped at the chat's last seq). */
  markHeld(deviceId: string, chatId: string, seq: number): void {
    const row = this.rows.get(chatId);
    if (!row) return;
    this.writeHeld(deviceId, chatId, Math.min(seq, row.lastSeq));
  }

  private writeHeld(deviceId: string, chatId: string, held: number): void {
    if (held <= 0) return;
    this.db
      .insert(schema.deviceCursors)
      .values({ deviceId, chatId, heldSeq: held })
      .onConflictDoUpdate({
        target: [schema.deviceCursors.deviceId, schema.deviceCursors.chatId],
        set: { heldSeq: sql`max(${schema.deviceCursors.heldSeq}, ${held})` },
      })
      .run();
  }

  /** A device's own send: it holds that seq too, if it held everything before it. */
  markSent(deviceId: string, chatId: string, seq: number): void {
    const c = schema.deviceCursors;
    const cursor = this.db
      .select({ heldSeq: c.heldSeq })
      .from(c)
      .where(and(eq(c.deviceId, deviceId), eq(c.chatId, chatId)))
      .get();
    // Not capped at the inbox's last seq: the ack may overtake the fan-out to this very object.
    if ((cursor?.heldSeq ?? 0) >= seq - 1) this.writeHeld(deviceId, chatId, seq);
  }

  /** The chats with messages that `deviceId` does not hold yet: the `ready` frame's list. */
  unheldBy(deviceId: string): ChatCursor[] {
    const c = schema.deviceCursors;
    const held = new Map(
      this.db
        .select({ chatId: c.chatId, heldSeq: c.heldSeq })
        .from(c)
        .where(eq(c.deviceId, deviceId))
        .all()
        .map((r) => [r.chatId, r.heldSeq]),
    );
    return this.all()
      .filter((r) => r.lastSeq > (held.get(r.chatId) ?? 0))
      .map((r) => ({ chatId: r.chatId, lastSeq: r.lastSeq, readSeq: r.readSeq }));
  }
}
