/**
 * The user's inbox in the user object's SQLite: one row per chat with its last seq and read
 * mark, and per device the seq up to which that device holds each chat.
 *
 * While a device is connected, a chat's `lastSeq`, the device cursors and the delivered/read
 * marks are kept in memory and written together with the next write that must commit anyway,
 * or within `INBOX_FLUSH_MS` (30 s by default, spread from half of it on): a message then costs an online member no commit of its own. What
 * must survive a crash is written at once: a chat new to the user, a chat parked (news while no
 * device was connected), and the `live` flag, set while deferred writes may be pending. After a
 * crash with `live` set, the next connect asks the chats where their logs stand (see `Inbound`).
 */
import { eq, sql } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { type ChatCursor, type ChatType, type Message, READABLE_KINDS } from "../../protocol";
import { spread } from "../timer-spread";
import * as schema from "./schema";

export type InboxRow = typeof schema.inbox.$inferSelect;
type Db = DrizzleSqliteDODatabase<typeof schema>;

const LIVE = "live";

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
        parked: sql.placeholder("parked"),
        unread: sql.placeholder("unread"),
        unreadStale: sql.placeholder("unreadStale"),
        receiptDelivered: sql.placeholder("receiptDelivered"),
        receiptRead: sql.placeholder("receiptRead"),
      })
      .onConflictDoUpdate({
        target: schema.inbox.chatId,
        set: {
          title: sql`excluded.title`,
          lastSeq: sql`max(${schema.inbox.lastSeq}, excluded.last_seq)`,
          active: true,
          parked: sql`excluded.parked`,
          unread: sql`excluded.unread`,
          unreadStale: sql`excluded.unread_stale`,
          receiptDelivered: sql`max(${schema.inbox.receiptDelivered}, excluded.receipt_delivered)`,
          receiptRead: sql`max(${schema.inbox.receiptRead}, excluded.receipt_read)`,
        },
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
    live: db
      .insert(schema.userMeta)
      .values({ key: LIVE, value: sql.placeholder("value") })
      .onConflictDoUpdate({ target: schema.userMeta.key, set: { value: sql`excluded.value` } })
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
  private readonly dirtyChats = new Set<string>();
  /** Deferred writes may have been pending when this object last stopped (see the module's note). */
  readonly wasLive: boolean;
  private live: boolean;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly writes: ReturnType<typeof preparedWrites>;

  /** `flushMs`: how long deferred updates may wait in memory before they are written. */
  constructor(
    private readonly db: Db,
    private readonly flushMs: number,
  ) {
    for (const row of db.select().from(schema.inbox).all()) this.rows.set(row.chatId, row);
    for (const c of db.select().from(schema.deviceCursors).all()) {
      this.held.set(cursorKey(c.deviceId, c.chatId), c.heldSeq);
    }
    this.writes = preparedWrites(db);
    this.live = db.select().from(schema.userMeta).where(eq(schema.userMeta.key, LIVE)).get()?.value === 1;
    this.wasLive = this.live;
  }

  get(chatId: string): InboxRow | undefined {
    return this.rows.get(chatId);
  }

  all(): InboxRow[] {
    return [...this.rows.values()].filter((r) => r.active);
  }

  /**
   * Records that the chat exists for this user, and that its log reaches `lastSeq`. A chat new
   * to the user (or rejoined) is written at once; a later seq waits for the next flush.
   */
  upsert(chatId: string, type: ChatType, title: string | null, lastSeq: number): InboxRow {
    const row = this.rows.get(chatId);
    if (row && row.lastSeq >= lastSeq && row.title === title && row.active) return row;
    const next = this.put(row, { chatId, type, title, lastSeq, parked: row?.parked ?? false });
    if (row?.active) this.scheduleFlush();
    else this.flush();
    return next;
  }

  /** News in `chatId` while no device is connected: written at once, so that `ready` names it. */
  park(chatId: string, type: ChatType, title: string | null, lastSeq: number): void {
    const row = this.rows.get(chatId);
    // Parked already: the chat learns of this user again only when it resumes, which reads the log's end.
    if (row?.active && row.parked) return;
    this.put(row, { chatId, type, title, lastSeq, parked: true });
    (this.rows.get(chatId) as InboxRow).unreadStale = true;
    this.flush();
  }

  /**
   * Counts what arrived in `chatId` for `userId` into its unread count: messages people read from
   * others after the read mark. A delete of one that may be unread leaves the count to the chat.
   */
  countArrived(chatId: string, userId: string, messages: readonly Message[]): void {
    const row = this.rows.get(chatId);
    if (!row) return;
    let changed = false;
    for (const m of messages) {
      if (m.seq <= row.readSeq) continue;
      if (READABLE_KINDS.has(m.kind) && m.sender !== userId && !m.deleted) {
        row.unread += 1;
        changed = true;
      } else if (m.kind === "delete" && (m.target ?? 0) > row.readSeq && !row.unreadStale) {
        row.unreadStale = true;
        changed = true;
      }
    }
    if (!changed) return;
    this.dirtyChats.add(chatId);
    this.scheduleFlush();
  }

  /** The unread count of `chatId` is the chat's to say (messages went by that this object did not see). */
  unreadUnknown(chatId: string): void {
    const row = this.rows.get(chatId);
    if (!row || row.unreadStale) return;
    row.unreadStale = true;
    this.dirtyChats.add(chatId);
    this.scheduleFlush();
  }

  /** The ticks of the user's own messages in `chatId` reached these seqs (they only move forward). */
  noteReceipts(chatId: string, receipts: { delivered?: number; read?: number }): void {
    const row = this.rows.get(chatId);
    if (!row) return;
    const delivered = Math.max(row.receiptDelivered, receipts.delivered ?? 0, receipts.read ?? 0);
    const read = Math.max(row.receiptRead, receipts.read ?? 0);
    if (delivered === row.receiptDelivered && read === row.receiptRead) return;
    row.receiptDelivered = delivered;
    row.receiptRead = read;
    this.dirtyChats.add(chatId);
    this.scheduleFlush();
  }

  /** The chats among `chatIds` whose unread count must be asked of the chat before it is shown. */
  unreadStale(chatIds: readonly string[]): string[] {
    return chatIds.filter((id) => this.rows.get(id)?.unreadStale === true);
  }

  /** The chat's word for where its log stands and how many messages are unread. */
  setUnread(chatId: string, unread: number): void {
    const row = this.rows.get(chatId);
    if (!row) return;
    if (row.unread === unread && !row.unreadStale) return;
    row.unread = unread;
    row.unreadStale = false;
    this.dirtyChats.add(chatId);
    this.scheduleFlush();
  }

  /** The row after `row` (if any) with these values, active, its seq never moving back; marked dirty. */
  private put(
    row: InboxRow | undefined,
    next: Pick<InboxRow, "chatId" | "type" | "title" | "lastSeq" | "parked">,
  ): InboxRow {
    const written: InboxRow = {
      ...next,
      lastSeq: Math.max(row?.lastSeq ?? 0, next.lastSeq),
      readSeq: row?.readSeq ?? 0,
      deliveredSeq: row?.deliveredSeq ?? 0,
      active: true,
      // A chat rejoined after a while out of it: what is unread there is the chat's to say.
      unread: row?.active ? row.unread : 0,
      unreadStale: row ? row.unreadStale || !row.active : false,
      receiptDelivered: row?.receiptDelivered ?? 0,
      receiptRead: row?.receiptRead ?? 0,
    };
    this.rows.set(next.chatId, written);
    this.dirtyChats.add(next.chatId);
    return written;
  }

  /** The chats that parked this user: each resumes when a device connects. */
  parkedChats(): string[] {
    return this.all()
      .filter((r) => r.parked)
      .map((r) => r.chatId);
  }

  /** `chatId` delivers to this user again; its log reaches `lastSeq`. */
  resumed(chatId: string, lastSeq: number): void {
    const row = this.rows.get(chatId);
    if (!row) return;
    row.parked = false;
    row.lastSeq = Math.max(row.lastSeq, lastSeq);
    this.dirtyChats.add(chatId);
    this.scheduleFlush();
  }

  /** The chat's log reaches `lastSeq` (learned by asking it); written with the next flush. */
  noteLastSeq(chatId: string, lastSeq: number): void {
    const row = this.rows.get(chatId);
    if (!row || row.lastSeq >= lastSeq) return;
    row.lastSeq = lastSeq;
    this.dirtyChats.add(chatId);
    this.scheduleFlush();
  }

  /** Sets the `live` flag (written at once when it changes); clearing it flushes first. */
  setLive(live: boolean): void {
    if (live === this.live) return;
    if (!live) this.flush();
    this.live = live;
    this.writes.live.run({ value: live ? 1 : 0 });
  }

  /** The user left the chat or was removed: it drops out of lists and sync. */
  deactivate(chatId: string): void {
    const row = this.rows.get(chatId);
    if (!row?.active) return;
    row.active = false;
    row.parked = false;
    this.dirtyChats.delete(chatId);
    this.db
      .update(schema.inbox)
      .set({ active: false, parked: false, lastSeq: row.lastSeq })
      .where(eq(schema.inbox.chatId, chatId))
      .run();
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
    if (readMoved) {
      // Read to the end: nothing is unread. Read to the middle: the chat counts what is left.
      if (row.readSeq >= row.lastSeq && !row.parked) {
        row.unread = 0;
        row.unreadStale = false;
      } else row.unreadStale = true;
      this.dirtyChats.add(chatId);
    }
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
      .map((r) => ({
        chatId: r.chatId,
        lastSeq: r.lastSeq,
        readSeq: r.readSeq,
        unread: r.unread,
        receipts: { delivered: r.receiptDelivered, read: r.receiptRead },
      }));
  }

  /** Writes the deferred updates now (they commit with the current event). */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.dirtyHeld.size === 0 && this.dirtyMarks.size === 0 && this.dirtyChats.size === 0) return;
    const held = [...this.dirtyHeld];
    const marks = [...this.dirtyMarks];
    const chats = [...this.dirtyChats];
    this.dirtyHeld.clear();
    this.dirtyMarks.clear();
    this.dirtyChats.clear();
    for (const chatId of chats) {
      const row = this.rows.get(chatId);
      if (!row?.active) continue;
      const { type, title, lastSeq, parked, unread, unreadStale, receiptDelivered, receiptRead } = row;
      this.writes.upsertChat.run({
        chatId,
        type,
        title,
        lastSeq,
        parked: parked ? 1 : 0,
        unread,
        unreadStale: unreadStale ? 1 : 0,
        receiptDelivered,
        receiptRead,
      });
    }
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
    // Spread: user objects woken by one burst must not all flush in the same moment.
    this.flushTimer ??= setTimeout(() => this.flush(), spread(this.flushMs));
  }
}
