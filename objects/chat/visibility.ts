/**
 * History visibility in groups (v1.1 privacy): the seqs a member may see. In a `joined` group a
 * member sees its stretches of membership, each from the system message that made it a member
 * to the `removed` or `left` message that ended it, both included; a `shared` group and a direct
 * chat show every member everything. A history page turns each run of seqs the caller may not
 * see into one hidden row, clipped to the page, so the seqs stay gapless to the client.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { HiddenRow, HistoryRow } from "../../protocol";
import type { HistoryPage, HistoryQuery } from "../contracts";
import type { ChatState } from "./chat-core";
import { type ChatDb, type ChatTx, pageLimit, readHistory, readSeqs } from "./log";
import * as schema from "./schema";

/** Seqs `from..to`, both included; `to` is infinite while the stretch lasts. */
export interface Stretch {
  from: number;
  to: number;
}

const s = schema.memberStretches;

/** The stretches `userId` may see, in seq order and merged; null when it sees everything. */
export function stretchesOf(db: ChatDb, chat: ChatState, userId: string): Stretch[] | null {
  if (chat.type === "direct" || chat.history === "shared") return null;
  const rows: { fromSeq: number; toSeq: number | null }[] = db.select().from(s).where(eq(s.userId, userId)).all();
  // A current member sees from its latest join on, even were its open row missing.
  const member = chat.members.get(userId);
  if (member && !rows.some((r) => r.toSeq === null)) rows.push({ fromSeq: member.joinedSeq, toSeq: null });
  rows.sort((a, b) => a.fromSeq - b.fromSeq);
  const out: Stretch[] = [];
  for (const r of rows) {
    const to = r.toSeq ?? Number.POSITIVE_INFINITY;
    const last = out.at(-1);
    if (last && r.fromSeq <= last.to + 1) last.to = Math.max(last.to, to);
    else out.push({ from: r.fromSeq, to });
  }
  return out;
}

/** Whether `seq` lies in one of `stretches` (null: everything is visible). */
export function sees(stretches: Stretch[] | null, seq: number): boolean {
  return stretches === null || stretches.some((r) => r.from <= seq && seq <= r.to);
}

/** Whether `userId` may see the message at `seq` of `chat`. */
export function canSee(db: ChatDb, chat: ChatState, userId: string, seq: number): boolean {
  return sees(stretchesOf(db, chat, userId), seq);
}

/** `userId` became a member with the message at `seq`. */
export function openStretch(tx: ChatTx, userId: string, seq: number): void {
  tx.insert(s).values({ userId, fromSeq: seq, toSeq: null }).onConflictDoNothing().run();
}

/** `userId` stopped being a member with the message at `seq`, which it still sees. */
export function closeStretch(tx: ChatTx, userId: string, seq: number): void {
  tx.update(s)
    .set({ toSeq: seq })
    .where(and(eq(s.userId, userId), isNull(s.toSeq)))
    .run();
}

/**
 * A page of the log as `userId` may see it: messages, and hidden rows for the runs between its
 * stretches. A hidden run counts as one row of the page's limit; each row moves the page on by
 * at least one seq, so paging ends, and `more` says whether seqs are left in the page's direction.
 */
export function visibleHistory(db: ChatDb, chat: ChatState, userId: string, query: HistoryQuery): HistoryPage {
  const stretches = stretchesOf(db, chat, userId);
  if (stretches === null) return readHistory(db, chat.chatId, query);
  const limit = pageLimit(query);
  const { chatId, lastSeq } = chat;
  const rows: HistoryRow[] = [];
  const hidden = (seq: number, through: number): HiddenRow => ({ chatId, seq, kind: "hidden", through });
  if (query.before !== undefined) {
    let at = Math.min(query.before - 1, lastSeq);
    while (rows.length < limit && at >= 1) {
      const stretch = stretches.findLast((r) => r.from <= at);
      if (stretch && stretch.to >= at) {
        const want = limit - rows.length;
        const got = readSeqs(db, chatId, stretch.from, at, "desc", want);
        rows.push(...got);
        at = got.length < want ? stretch.from - 1 : (got.at(-1)?.seq ?? stretch.from) - 1;
      } else {
        const from = (stretch?.to ?? 0) + 1;
        rows.push(hidden(from, at));
        at = from - 1;
      }
    }
    return { messages: rows, more: at >= 1 };
  }
  let at = (query.after ?? 0) + 1;
  while (rows.length < limit && at <= lastSeq) {
    const stretch = stretches.find((r) => r.to >= at);
    if (stretch && stretch.from <= at) {
      const high = Math.min(stretch.to, lastSeq);
      const want = limit - rows.length;
      const got = readSeqs(db, chatId, at, high, "asc", want);
      rows.push(...got);
      at = got.length < want ? high + 1 : (got.at(-1)?.seq ?? high) + 1;
    } else {
      const through = Math.min((stretch?.from ?? Number.POSITIVE_INFINITY) - 1, lastSeq);
      rows.push(hidden(at, through));
      at = through + 1;
    }
  }
  return { messages: rows, more: at <= lastSeq };
}
