/**
 * The chat's message log: appending under the next seq (inside the caller's transaction) and
 * reading pages of history.
 */
import { and, asc, desc, eq, gt, lt, max } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT, type Message, type MessageKind } from "../../protocol";
import * as schema from "./schema";

export type ChatDb = DrizzleSqliteDODatabase<typeof schema>;
/** What `db.transaction` hands its callback: the same query API, bound to the transaction. */
export type ChatTx = Parameters<Parameters<ChatDb["transaction"]>[0]>[0];

export interface HistoryQuery {
  after?: number;
  before?: number;
  limit?: number;
}

export interface HistoryPage {
  messages: Message[];
  more: boolean;
}

export interface Entry {
  sender: string;
  body: string;
  kind: MessageKind;
  /** For text messages; system messages get `sys-<seq>`. */
  clientMsgId?: string;
}

/** Inserts `entry` under `seq`; the caller owns the transaction and the seq counter. */
export function insertMessage(tx: ChatTx, chatId: string, seq: number, ts: number, entry: Entry): Message {
  const clientMsgId = entry.clientMsgId ?? `sys-${seq}`;
  tx.insert(schema.messages)
    .values({ seq, sender: entry.sender, clientMsgId, body: entry.body, ts, kind: entry.kind })
    .run();
  return { chatId, seq, sender: entry.sender, clientMsgId, body: entry.body, ts, kind: entry.kind };
}

/** The first send of (sender, clientMsgId), if there was one. */
export function findSend(tx: ChatTx, sender: string, clientMsgId: string): { seq: number; ts: number } | undefined {
  const m = schema.messages;
  return tx
    .select({ seq: m.seq, ts: m.ts })
    .from(m)
    .where(and(eq(m.sender, sender), eq(m.clientMsgId, clientMsgId), eq(m.kind, "text")))
    .get();
}

export function readHistory(db: ChatDb, chatId: string, query: HistoryQuery): HistoryPage {
  const limit = Math.min(Math.max(1, query.limit ?? DEFAULT_HISTORY_LIMIT), MAX_HISTORY_LIMIT);
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
  return { messages: rows.slice(0, limit).map((r) => ({ chatId, ...r })), more };
}

export function readMessage(db: ChatDb, chatId: string, seq: number): Message | null {
  const row = db.select().from(schema.messages).where(eq(schema.messages.seq, seq)).get();
  return row ? { chatId, ...row } : null;
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
    .where(eq(m.kind, "text"))
    .groupBy(m.sender)
    .all();
  return new Map(rows.map((r) => [r.sender, r.seq ?? 0]));
}
