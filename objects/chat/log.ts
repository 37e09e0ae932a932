/**
 * The chat's message log: appending under the next seq (inside the caller's transaction) and
 * reading pages of history.
 */
import { and, asc, desc, eq, gt, gte, inArray, lt, lte, max, ne, sql } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import {
  type AttachmentInfo,
  DEFAULT_HISTORY_LIMIT,
  MAX_HISTORY_LIMIT,
  type Message,
  type MessageKind,
} from "../../protocol";
import type { HistoryQuery } from "../contracts";
import * as schema from "./schema";

export type ChatDb = DrizzleSqliteDODatabase<typeof schema>;
/**
 * The database inside a transaction. Transactions run in `storage.transactionSync` with the
 * same database object: drizzle's own `transaction` builds a query API per call, which costs
 * more than the writes of a small batch.
 */
export type ChatTx = ChatDb;

export interface Entry {
  sender: string;
  body: string;
  kind: MessageKind;
  /** For what clients send; system messages get `sys-<seq>`. */
  clientMsgId?: string;
  target?: number;
  replyTo?: number;
  attachment?: AttachmentInfo;
}

type Row = typeof schema.messages.$inferSelect;

/** The statements run for every message, built once per object (drizzle then only binds values). */
export function logStatements(db: ChatDb) {
  const m = schema.messages;
  const p = {
    seq: sql.placeholder("seq"),
    sender: sql.placeholder("sender"),
    clientMsgId: sql.placeholder("clientMsgId"),
    body: sql.placeholder("body"),
    ts: sql.placeholder("ts"),
    kind: sql.placeholder("kind"),
    target: sql.placeholder("target"),
    replyTo: sql.placeholder("replyTo"),
    attachment: sql.placeholder("attachment"),
  };
  return {
    /**
     * Inserts what a client sent unless (sender, clientMsgId) is stored: then it answers nothing.
     * Only that conflict is absorbed; any other (a seq already taken) throws.
     */
    insertSent: db
      .insert(m)
      .values(p)
      // "Do nothing" written as an update that never applies: SQLite matches the partial unique
      // index only with its WHERE, which drizzle's onConflictDoNothing puts after DO NOTHING.
      .onConflictDoUpdate({
        target: [m.sender, m.clientMsgId],
        targetWhere: sql`kind <> 'system'`,
        set: { seq: sql`seq` },
        setWhere: sql`false`,
      })
      .returning({ seq: m.seq })
      .prepare(),
    insertSystem: db.insert(m).values(p).prepare(),
    findSend: db
      .select({ seq: m.seq, ts: m.ts })
      .from(m)
      .where(and(eq(m.sender, p.sender), eq(m.clientMsgId, p.clientMsgId), ne(m.kind, "system")))
      .prepare(),
    readRow: db.select().from(m).where(eq(m.seq, p.seq)).prepare(),
  };
}
export type LogStatements = ReturnType<typeof logStatements>;

/**
 * Inserts `entry` under `seq`; the caller owns the transaction and the seq counter. An entry
 * sent by a client whose (sender, clientMsgId) is already stored is not inserted: the answer is null.
 */
export function insertMessage(
  log: LogStatements,
  chatId: string,
  seq: number,
  ts: number,
  entry: Entry,
): Message | null {
  const clientMsgId = entry.clientMsgId ?? `sys-${seq}`;
  const { sender, body, kind, target, replyTo, attachment } = entry;
  const values = {
    seq,
    sender,
    clientMsgId,
    body,
    ts,
    kind,
    target: target ?? null,
    replyTo: replyTo ?? null,
    attachment: attachment ? JSON.stringify(attachment) : null,
  };
  if (kind !== "system") {
    if (!log.insertSent.get(values)) return null;
  } else {
    log.insertSystem.run(values);
  }
  const m: Message = { chatId, seq, sender, clientMsgId, body, ts, kind };
  if (target !== undefined) m.target = target;
  if (replyTo !== undefined) m.replyTo = replyTo;
  if (attachment) m.attachment = attachment;
  return m;
}

/** A stored row as the protocol shows it: optional fields only where they apply. */
function toMessage(chatId: string, r: Row, reactions?: Record<string, string[]>): Message {
  const m: Message = {
    chatId,
    seq: r.seq,
    sender: r.sender,
    clientMsgId: r.clientMsgId,
    body: r.body,
    ts: r.ts,
    kind: r.kind,
  };
  if (r.target !== null) m.target = r.target;
  if (r.replyTo !== null) m.replyTo = r.replyTo;
  if (r.attachment !== null) m.attachment = JSON.parse(r.attachment) as AttachmentInfo;
  if (r.deleted) m.deleted = true;
  else if (r.edited) m.edited = true;
  if (reactions) m.reactions = reactions;
  return m;
}

/** The current reactions on the messages from `first` to `last`: emoji → users in the order they reacted. */
function reactionsOn(db: ChatDb, first: number, last: number): Map<number, Record<string, string[]>> {
  const r = schema.reactions;
  const rows = db
    .select()
    .from(r)
    .where(and(gte(r.target, first), lte(r.target, last)))
    .orderBy(asc(r.seq))
    .all();
  const lists = new Map<number, Map<string, string[]>>();
  for (const row of rows) {
    const byEmoji = lists.get(row.target) ?? new Map<string, string[]>();
    byEmoji.set(row.emoji, [...(byEmoji.get(row.emoji) ?? []), row.userId]);
    lists.set(row.target, byEmoji);
  }
  const out = new Map<number, Record<string, string[]>>();
  for (const [target, byEmoji] of lists) {
    const sorted: Record<string, string[]> = {};
    // The same order as the SDK's view: emoji as strings sort.
    for (const e of [...byEmoji.keys()].sort()) sorted[e] = byEmoji.get(e) as string[];
    out.set(target, sorted);
  }
  return out;
}

/** Rows as the protocol shows them, with the reactions on each. */
function toMessages(db: ChatDb, chatId: string, rows: Row[]): Message[] {
  if (rows.length === 0) return [];
  const seqs = rows.map((r) => r.seq);
  const reactions = reactionsOn(db, Math.min(...seqs), Math.max(...seqs));
  return rows.map((r) => toMessage(chatId, r, reactions.get(r.seq)));
}

/** The stored row at `seq`, raw (for the rules of changes). */
export function readRow(log: LogStatements, seq: number): Row | undefined {
  return log.readRow.get({ seq });
}

/** The first send of (sender, clientMsgId), if there was one. */
export function findSend(
  log: LogStatements,
  sender: string,
  clientMsgId: string,
): { seq: number; ts: number } | undefined {
  return log.findSend.get({ sender, clientMsgId });
}

/** The number of rows a history page holds at most. */
export function pageLimit(query: HistoryQuery): number {
  return Math.min(Math.max(1, query.limit ?? DEFAULT_HISTORY_LIMIT), MAX_HISTORY_LIMIT);
}

/** Up to `limit` messages with seqs from `low` to `high`, in the given order. */
export function readSeqs(
  db: ChatDb,
  chatId: string,
  low: number,
  high: number,
  order: "asc" | "desc",
  limit: number,
): Message[] {
  const m = schema.messages;
  const rows = db
    .select()
    .from(m)
    .where(and(gte(m.seq, low), lte(m.seq, high)))
    .orderBy(order === "asc" ? asc(m.seq) : desc(m.seq))
    .limit(limit)
    .all();
  return toMessages(db, chatId, rows);
}

export function readHistory(db: ChatDb, chatId: string, query: HistoryQuery): { messages: Message[]; more: boolean } {
  const limit = pageLimit(query);
  const m = schema.messages;
  const rows =
    query.before !== undefined
      ? db
          .select()
          .from(m)
          .where(lt(m.seq, query.before))
          .orderBy(desc(m.seq))
          .limit(limit + 1)
          .all()
      : db
          .select()
          .from(m)
          .where(gt(m.seq, query.after ?? 0))
          .orderBy(asc(m.seq))
          .limit(limit + 1)
          .all();
  const more = rows.length > limit;
  return { messages: toMessages(db, chatId, rows.slice(0, limit)), more };
}

export function readMessage(db: ChatDb, chatId: string, seq: number): Message | null {
  const row = db.select().from(schema.messages).where(eq(schema.messages.seq, seq)).get();
  return row ? (toMessages(db, chatId, [row])[0] as Message) : null;
}

export function lastSeqOf(db: ChatDb): number {
  const m = schema.messages;
  return db.select({ seq: m.seq }).from(m).orderBy(desc(m.seq)).limit(1).get()?.seq ?? 0;
}

/** The highest seq each member has sent, for deciding who is owed receipts. */
export function lastSentBySender(db: ChatDb): Map<string, number> {
  const m = schema.messages;
  const rows = db
    .select({ sender: m.sender, seq: max(m.seq) })
    .from(m)
    .where(inArray(m.kind, ["text", "attachment"]))
    .groupBy(m.sender)
    .all();
  return new Map(rows.map((r) => [r.sender, r.seq ?? 0]));
}

/** Messages people read (text, attachments) from others than `userId` after `afterSeq`, not deleted. */
export function countUnread(db: ChatDb, userId: string, afterSeq: number): number {
  const m = schema.messages;
  const row = db
    .select({ n: sql<number>`count(*)` })
    .from(m)
    .where(
      and(gt(m.seq, afterSeq), inArray(m.kind, ["text", "attachment"]), ne(m.sender, userId), eq(m.deleted, false)),
    )
    .get();
  return row?.n ?? 0;
}
