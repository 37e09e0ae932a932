/** The chat object's tables: its members, its message log and its settings. */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const chatInfo = sqliteTable("chat_info", {
  id: integer("id").primaryKey(),
  chatId: text("chat_id").notNull(),
  type: text("type", { enum: ["direct", "group"] }).notNull(),
  title: text("title"),
  createdBy: text("created_by"),
  createdAt: integer("created_at").notNull(),
  /** Every message up to this seq has reached every member's user object. */
  fannedOutSeq: integer("fanned_out_seq").notNull().default(0),
  /** A group's history visibility: `joined` (members see their own stretches) or `shared` (all of it). */
  history: text("history", { enum: ["joined", "shared"] })
    .notNull()
    .default("joined"),
});

export const members = sqliteTable("members", {
  userId: text("user_id").primaryKey(),
  role: text("role", { enum: ["admin", "member"] }).notNull(),
  joinedSeq: integer("joined_seq").notNull(),
  deliveredSeq: integer("delivered_seq").notNull().default(0),
  readSeq: integer("read_seq").notNull().default(0),
  /** In a direct chat: this member blocked the other, whose sends are refused and who gets no typing or receipts from it. */
  blocking: integer("blocking", { mode: "boolean" }).notNull().default(false),
  /** In a direct chat: this member's read receipts setting; off on either side, no blue ticks either way. */
  readReceipts: integer("read_receipts", { mode: "boolean" }).notNull().default(true),
});

export const messages = sqliteTable(
  "messages",
  {
    seq: integer("seq").primaryKey(),
    sender: text("sender").notNull(),
    clientMsgId: text("client_msg_id").notNull(),
    body: text("body").notNull(),
    ts: integer("ts").notNull(),
    kind: text("kind", { enum: ["text", "system", "attachment", "edit", "delete", "reaction"] }).notNull(),
    /** The message an edit, delete or reaction changes. */
    target: integer("target"),
    /** The message a text quotes. */
    replyTo: integer("reply_to"),
    /** Set on a message that was edited: its body is the newest edit's. */
    edited: integer("edited", { mode: "boolean" }).notNull().default(false),
    /** Set on a message deleted for everyone: its body (and its edits' bodies) are erased. */
    deleted: integer("deleted", { mode: "boolean" }).notNull().default(false),
    /** An attachment message's file: `{id,size,contentType,name}` as JSON; erased with a delete. */
    attachment: text("attachment"),
  },
  (t) => [
    // System messages name their actor as sender but no client id of theirs.
    uniqueIndex("messages_sender_client_id").on(t.sender, t.clientMsgId).where(sql`kind <> 'system'`),
    index("messages_target").on(t.target).where(sql`target IS NOT NULL`),
  ],
);

/**
 * Files uploaded to this chat (bytes in R2 under `chats/<chatId>/<id>`): `uploading` while the
 * bytes stream in, `uploaded` until a message names it (or it expires after 24 h), `sent` once
 * one does, `gone` once its bytes are deleted (expired, failed, or the message deleted).
 */
export const attachments = sqliteTable(
  "attachments",
  {
    id: text("id").primaryKey(),
    uploader: text("uploader").notNull(),
    name: text("name").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    createdAt: integer("created_at").notNull(),
    state: text("state", { enum: ["uploading", "uploaded", "sent", "gone"] }).notNull(),
    /** The bytes are still in R2 and must be deleted (a deletion that failed is retried by the alarm). */
    stored: integer("stored", { mode: "boolean" }).notNull().default(false),
    seq: integer("seq"),
  },
  (t) => [index("attachments_pending").on(t.createdAt).where(sql`state IN ('uploading', 'uploaded')`)],
);

/** The current reaction of each user on each message (the reaction entries are the log). */
export const reactions = sqliteTable(
  "reactions",
  {
    target: integer("target").notNull(),
    userId: text("user_id").notNull(),
    emoji: text("emoji").notNull(),
    /** The reaction entry that set it: lists are in this order. */
    seq: integer("seq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.target, t.userId] })],
);

/** Receipts of members who left or were removed, kept so message info stays truthful. */
export const formerMembers = sqliteTable(
  "former_members",
  {
    userId: text("user_id").notNull(),
    joinedSeq: integer("joined_seq").notNull(),
    leftSeq: integer("left_seq").notNull(),
    deliveredSeq: integer("delivered_seq").notNull(),
    readSeq: integer("read_seq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.leftSeq] }), index("former_members_left").on(t.leftSeq)],
);

/**
 * The seqs each group member may see: one row per stretch of membership, from the system message
 * that made it a member to the `removed` or `left` message that ended it (inclusive; null while
 * it lasts). Members from before this table existed start at 1 (see docs/protocol.md).
 */
export const memberStretches = sqliteTable(
  "member_stretches",
  {
    userId: text("user_id").notNull(),
    fromSeq: integer("from_seq").notNull(),
    toSeq: integer("to_seq"),
  },
  (t) => [primaryKey({ columns: [t.userId, t.fromSeq] })],
);

/** Members whose objects said no device of theirs is connected: fan-out skips them until they resume. */
export const parkedMembers = sqliteTable("parked_members", {
  userId: text("user_id").primaryKey(),
  /** The member has push subscriptions: it is told of new messages now and then (`notice` deliveries). */
  push: integer("push", { mode: "boolean" }).notNull().default(false),
  /** The newest seq it was told of. */
  notifiedSeq: integer("notified_seq").notNull().default(0),
});
