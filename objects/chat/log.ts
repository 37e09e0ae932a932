/**
 * The chat's message log: appending under the next seq (inside the caller's transaction) and
 * reading pages of history.
 */
import { and, asc, desc, eq, gt, lt, max, sql } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT, type Message, type MessageKind } from "../../protocol";
import type { HistoryPage, HistoryQuery } from "../contracts";
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
  /** For text messages; system messages get `sys-<seq>`. */
  clientMsgId?: string;
}

/** The statements run for every message, built once per object (drizzle then only binds values). */
export function logStatements(db: ChatDb) {
  const m = schema.messages;
  const p = {
    seq: sql.placeholder("seq"),
    sender: sql.placeholder("sender"),
    clientMsgId: sql.placeholder("clientMsgId"),
    body: sql.placeholder("body"),
    ts: sql.placeholder("ts"),
  };
  return {
    /**
     * Inserts a text message unless (sender, clientMsgId) is stored: then it answers nothing.
     * Only that conflict is absorbed; any other (a seq already taken) throws.
     */
    insertText: db
      .insert(m)
      .values({ ...p, kind: "text" })
      // "Do nothing" written as an update that never applies: SQLite matches the partial unique
      // index only with its WHERE, which drizzle's onConflictDoNothing puts after DO NOTHING.
      .onConflictDoUpdate({
        target: [m.sender, m.clientMsgId],
        targetWhere: sql`kind = 'text'`,
        set: { seq: sql`seq` },
        setWhere: sql`false`,
      })
      .returning({ seq: m.seq })
      .prepare(),
    insertSystem: db
      .insert(m)
      .values({ ...p, kind: "system" })
      .prepare(),
    findSend: db
      .select({ seq: m.seq, ts: m.ts })
      .from(m)
      .where(and(eq(m.sender, p.sender), eq(m.clientMsgId, p.clientMsgId), eq(m.kind, "text")))
      .prepare(),
  };
}
export type LogStatements = ReturnType<typeof logStatements>;

/**
 * Inserts `entry` under `seq`; the caller owns the transaction and the seq counter. A text
 * message whose (sender, clientMsgId) is already stored is not inserted: the answer is null.
 */
export function insertMessage(
  log: LogStatements,
  chatId: string,
  seq: number,
  ts: number,
  entry: Entry,
): Message | null {
  const clientMsgId = entry.clientMsgId ?? `sys-${seq}`;
  const values = { seq, sender: entry.sender, clientMsgId, body: entry.body, ts };
  if (entry.kind === "text") {
    if (!log.insertText.get(values)) return null;
  } else {
    log.insertSystem.run(values);
  }
  return { chatId, seq, sender: entry.sender, clientMsgId, body: entry.body, ts, kind: entry.kind };
}

/** The first send of (sender, clientMsgId), if there was one. */
export function findSend(
  log: LogStatements,
  sender: string,
  clientMsgId: string,
): { seq: number; ts: number } | undefined {
  return log.findSend.get({ sender, clientMsgId });
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
