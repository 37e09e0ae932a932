/** The user object's tables: the inbox (one row per chat) and what each device holds. */
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const inbox = sqliteTable("inbox", {
  chatId: text("chat_id").primaryKey(),
  type: text("type", { enum: ["direct", "group"] }).notNull(),
  title: text("title"),
  lastSeq: integer("last_seq").notNull().default(0),
  readSeq: integer("read_seq").notNull().default(0),
  /** The highest seq any of the user's devices has acknowledged with `received`. */
  deliveredSeq: integer("delivered_seq").notNull().default(0),
  active: integer("active", { mode: "boolean" }).notNull().default(true),
  /** No device was connected when the chat had news: the chat stops delivering until this user resumes it. */
  parked: integer("parked", { mode: "boolean" }).notNull().default(false),
  /** Text and attachment messages from others after `readSeq`, not deleted. */
  unread: integer("unread").notNull().default(0),
  /** `unread` may be wrong (news while parked, a delete, a partial read): the chat is asked before it is shown. */
  unreadStale: integer("unread_stale", { mode: "boolean" }).notNull().default(false),
  /** The ticks of the user's own messages in this chat, from the chat's receipts. */
  receiptDelivered: integer("receipt_delivered").notNull().default(0),
  receiptRead: integer("receipt_read").notNull().default(0),
});

export const deviceCursors = sqliteTable(
  "device_cursors",
  {
    deviceId: text("device_id").notNull(),
    chatId: text("chat_id").notNull(),
    heldSeq: integer("held_seq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.chatId] })],
);

export const userMeta = sqliteTable("user_meta", {
  key: text("key").primaryKey(),
  value: integer("value").notNull(),
});

/** Users who asked for this user's presence; told of every change until they stop watching. */
export const watchers = sqliteTable("watchers", {
  userId: text("user_id").primaryKey(),
});

/** A device's Web Push subscription (one per device). */
export const pushSubscriptions = sqliteTable("push_subscriptions", {
  deviceId: text("device_id").primaryKey(),
  endpoint: text("endpoint").notNull(),
  p256dh: text("p256dh").notNull(),
  auth: text("auth").notNull(),
  createdAt: integer("created_at").notNull(),
});

/**
 * Pushes per device and chat: the newest message's payload waiting to go (null once sent), when
 * it is due, and when the last one went, so a burst in a chat is one push with its newest message.
 */
export const pushPending = sqliteTable(
  "push_pending",
  {
    deviceId: text("device_id").notNull(),
    chatId: text("chat_id").notNull(),
    payload: text("payload"),
    dueAt: integer("due_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastSentAt: integer("last_sent_at").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.chatId] })],
);

/** Users this user blocked (kept here, the blocker's object; the direct chat is told too). */
export const blocks = sqliteTable("blocks", {
  userId: text("user_id").primaryKey(),
  createdAt: integer("created_at").notNull(),
});

/** Chats the user muted: no pushes until `until` (null: until unmuted). */
export const mutes = sqliteTable("mutes", {
  chatId: text("chat_id").primaryKey(),
  until: integer("until"),
});
