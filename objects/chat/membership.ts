/**
 * Writes for group membership. Each change is a `system` message with its own seq in the chat's log,
 * written in the same transaction as the member rows, so sync carries it like any message.
 * The system message body is JSON: `{"event","actor","userId"?,"title"?,"members"?}`.
 */
import { eq } from "drizzle-orm";
import type { ChatView } from "../contracts";
import type { ChatState } from "./chat-core";
import { type ChatDb, type ChatTx, lastSeqOf } from "./log";
import type { MemberRow } from "./receipts";
import * as schema from "./schema";

/** Writes a new group's info; its members and its seq 1 (`created`) are written beside it. */
export function writeGroupInfo(
  tx: ChatTx,
  chat: Pick<ChatState, "chatId" | "title" | "history">,
  creator: string,
  ts: number,
): void {
  const { chatId, title, history } = chat;
  tx.insert(schema.chatInfo)
    .values({ id: 1, chatId, type: "group", title, history, createdBy: creator, createdAt: ts })
    .run();
}

/** A direct chat's info and its two members (one, for a chat with oneself), written on first use. */
export function writeDirectInfo(tx: ChatTx, chatId: string, pair: [string, string], ts: number): void {
  tx.insert(schema.chatInfo).values({ id: 1, chatId, type: "direct", title: null, createdAt: ts }).run();
  for (const userId of new Set(pair)) tx.insert(schema.members).values({ userId, role: "member", joinedSeq: 0 }).run();
}

/** The chat as stored, or null in an object nobody created. */
export function loadChat(db: ChatDb): ChatState | null {
  const info = db.select().from(schema.chatInfo).get();
  if (!info) return null;
  return {
    chatId: info.chatId,
    type: info.type,
    title: info.title,
    history: info.history,
    lastSeq: lastSeqOf(db),
    fannedOutSeq: info.fannedOutSeq,
    members: new Map(
      db
        .select()
        .from(schema.members)
        .all()
        .map((m) => [m.userId, m]),
    ),
  };
}

export function writeMember(tx: ChatTx, row: MemberRow): void {
  tx.insert(schema.members)
    .values(row)
    .onConflictDoUpdate({ target: schema.members.userId, set: { role: row.role } })
    .run();
}

/** Removes a member, keeping its watermarks so message info stays truthful. */
export function writeRemoval(tx: ChatTx, member: MemberRow, leftSeq: number): void {
  tx.delete(schema.members).where(eq(schema.members.userId, member.userId)).run();
  tx.insert(schema.formerMembers)
    .values({
      userId: member.userId,
      joinedSeq: member.joinedSeq,
      leftSeq,
      deliveredSeq: member.deliveredSeq,
      readSeq: member.readSeq,
    })
    .onConflictDoNothing()
    .run();
}

/** The chat's type, title and members, as a member sees them. */
export function viewOf(chat: ChatState): ChatView {
  const { chatId, type, title, members } = chat;
  return { chatId, type, title, members: [...members.values()].map((m) => ({ userId: m.userId, role: m.role })) };
}

/** In a direct chat: whether the other member blocked `userId`. */
export function blocks(chat: ChatState, userId: string): boolean {
  if (chat.type !== "direct") return false;
  return [...chat.members.values()].some((m) => m.userId !== userId && m.blocking);
}

/** In a direct chat: a member turned read receipts off, so no blue ticks either way. */
export function readReceiptsOff(chat: ChatState): boolean {
  return chat.type === "direct" && [...chat.members.values()].some((m) => !m.readReceipts);
}

export function writeReadReceipts(tx: ChatTx, member: MemberRow): void {
  tx.update(schema.members)
    .set({ readReceipts: member.readReceipts })
    .where(eq(schema.members.userId, member.userId))
    .run();
}

export function writeBlocking(tx: ChatTx, member: MemberRow): void {
  tx.update(schema.members).set({ blocking: member.blocking }).where(eq(schema.members.userId, member.userId)).run();
}

export function writeWatermarks(tx: ChatTx, member: MemberRow): void {
  tx.update(schema.members)
    .set({ deliveredSeq: member.deliveredSeq, readSeq: member.readSeq })
    .where(eq(schema.members.userId, member.userId))
    .run();
}
