/**
 * A user's own messages in a chat, page by page, for the export of its data (`GET /v1/me/export`):
 * what it sent (texts, files, edits, deletes, reactions) and nothing of anyone else's, not even
 * the reactions others put on them. System messages name their actor but are the chat's record.
 */
import { and, asc, eq, gt, ne } from "drizzle-orm";
import type { AttachmentInfo, MessageKind } from "../../protocol";
import type { ChatDb } from "./log";
import * as schema from "./schema";

/** Most messages one page of `sentBy` answers: 200 bodies of 64 KiB stay well under the 32 MiB an RPC answer may have. */
export const SENT_PAGE_LIMIT = 200;

export interface SentMessage {
  seq: number;
  ts: number;
  kind: MessageKind;
  body: string;
  target?: number;
  replyTo?: number;
  attachment?: AttachmentInfo;
  edited?: true;
  deleted?: true;
}

export interface SentPage {
  messages: SentMessage[];
  /** More of the user's messages follow the last one. */
  more: boolean;
}

const m = schema.messages;

/** The messages `userId` sent after `afterSeq`, oldest first, at most `limit` (capped). */
export function readSentBy(db: ChatDb, userId: string, afterSeq: number, limit: number): SentPage {
  const take = Math.max(1, Math.min(limit, SENT_PAGE_LIMIT));
  const rows = db
    .select()
    .from(m)
    .where(and(eq(m.sender, userId), ne(m.kind, "system"), gt(m.seq, afterSeq)))
    .orderBy(asc(m.seq))
    .limit(take + 1)
    .all();
  return { messages: rows.slice(0, take).map(toSent), more: rows.length > take };
}

function toSent(r: typeof m.$inferSelect): SentMessage {
  const out: SentMessage = { seq: r.seq, ts: r.ts, kind: r.kind, body: r.body };
  if (r.target !== null) out.target = r.target;
  if (r.replyTo !== null) out.replyTo = r.replyTo;
  if (r.attachment !== null) out.attachment = JSON.parse(r.attachment) as AttachmentInfo;
  if (r.deleted) out.deleted = true;
  else if (r.edited) out.edited = true;
  return out;
}
