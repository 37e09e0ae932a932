/**
 * Replies, edits, deletes for everyone and reactions in the chat's log: the rules that decide
 * whether a member may send one (read inside the send's transaction, so an edit may follow its
 * message in the same batch), and what a stored change does to the message it targets.
 *
 * A delete erases: the message's text, the text of every edit of it and its reactions are
 * overwritten in the same transaction, not hidden behind a flag.
 */
import { and, eq, sql } from "drizzle-orm";
import type { AttachmentInfo, Message } from "../../protocol";
import { READABLE_KINDS } from "../../protocol";
import type { SendItem } from "../contracts";
import { type Refusal, refuse } from "../outcome";
import type { ChatState } from "./chat-core";
import { type ChatDb, type LogStatements, readRow } from "./log";
import * as schema from "./schema";

/** How long after a message its sender may edit it, and delete it for everyone. */
export interface ChangeWindows {
  editWindowMs: number;
  deleteWindowMs: number;
}

/** Why `sender` may not send `item` into `chat` at `now`, or null when it may. */
export function refusalOf(
  log: LogStatements,
  chat: ChatState,
  sender: string,
  item: SendItem,
  now: number,
  windows: ChangeWindows,
): Refusal | null {
  const kind = item.kind ?? "text";
  const named = kind === "text" ? item.replyTo : item.target;
  if (named === undefined) return null;
  const field = kind === "text" ? "replyTo" : "target";
  const row = readRow(log, named);
  if (!row) return refuse("not_found", `${field}: no message ${named} in this chat`);
  if (!READABLE_KINDS.has(row.kind))
    return refuse("bad_request", `${field}: message ${named} is not a text or attachment message`);
  if (row.deleted) return refuse("forbidden", `${field}: message ${named} was deleted`);
  const age = now - row.ts;
  switch (kind) {
    case "edit":
      if (row.sender !== sender) return refuse("forbidden", "only its sender may edit a message");
      if (age > windows.editWindowMs)
        return refuse("forbidden", `a message may be edited for ${windows.editWindowMs / 1000} s after it was sent`);
      return null;
    case "delete": {
      const admin = chat.type === "group" && chat.members.get(sender)?.role === "admin";
      if (admin) return null;
      if (row.sender !== sender) return refuse("forbidden", "only its sender or a group admin may delete a message");
      if (age > windows.deleteWindowMs)
        return refuse("forbidden", `a message may be deleted for ${windows.deleteWindowMs / 1000} s after it was sent`);
      return null;
    }
    default:
      return null;
  }
}

/** The statements a change runs, built once per object. */
export function changeStatements(db: ChatDb) {
  const m = schema.messages;
  const r = schema.reactions;
  const target = sql.placeholder("target");
  return {
    edit: db
      .update(m)
      .set({ body: sql`${sql.placeholder("body")}`, edited: true })
      .where(eq(m.seq, target))
      .prepare(),
    erase: db
      .update(m)
      .set({ body: "", deleted: true, edited: false, attachment: null })
      .where(eq(m.seq, target))
      .prepare(),
    attachmentOf: db.select({ attachment: m.attachment }).from(m).where(eq(m.seq, target)).prepare(),
    eraseEdits: db
      .update(m)
      .set({ body: "" })
      .where(and(eq(m.target, target), eq(m.kind, "edit")))
      .prepare(),
    dropReactions: db.delete(r).where(eq(r.target, target)).prepare(),
    react: db
      .insert(r)
      .values({
        target,
        userId: sql.placeholder("userId"),
        emoji: sql.placeholder("emoji"),
        seq: sql.placeholder("seq"),
      })
      .onConflictDoUpdate({
        target: [r.target, r.userId],
        set: { emoji: sql`excluded.emoji`, seq: sql`excluded.seq` },
      })
      .prepare(),
    unreact: db
      .delete(r)
      .where(and(eq(r.target, target), eq(r.userId, sql.placeholder("userId"))))
      .prepare(),
  };
}
export type ChangeStatements = ReturnType<typeof changeStatements>;

/**
 * What the stored change `m` does to its target; runs in the transaction that stored `m`.
 * Answers the id of the attachment a delete erased (its bytes go after the commit), else null.
 */
export function applyChange(s: ChangeStatements, m: Message): string | null {
  const target = m.target;
  if (target === undefined) return null;
  switch (m.kind) {
    case "edit":
      s.edit.run({ target, body: m.body });
      return null;
    case "delete": {
      const erased = s.attachmentOf.get({ target });
      s.erase.run({ target });
      s.eraseEdits.run({ target });
      s.dropReactions.run({ target });
      return erased?.attachment ? (JSON.parse(erased.attachment) as AttachmentInfo).id : null;
    }
    case "reaction":
      if (m.body === "") s.unreact.run({ target, userId: m.sender });
      else s.react.run({ target, userId: m.sender, emoji: m.body, seq: m.seq });
      return null;
    default:
      return null;
  }
}
