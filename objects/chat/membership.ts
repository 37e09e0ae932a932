/**
 * Writes for group membership. Each change is a `system` message with its own seq in the chat's log,
 * written in the same transaction as the member rows, so sync carries it like any message.
 * The system message body is JSON: `{"event","actor","userId"?,"title"?,"members"?}`.
 */
import { eq } from "drizzle-orm";
import type { ChatTx } from "./log";
import type { MemberRow } from "./receipts";
import * as schema from "./schema";

/** Writes a new group's info; its members and its seq 1 (`created`) are written beside it. */
export function writeGroupInfo(tx: ChatTx, chatId: string, creator: string, title: string, ts: number): void {
  tx.insert(schema.chatInfo).values({ id: 1, chatId, type: "group", title, createdBy: creator, createdAt: ts }).run();
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

export function writeWatermarks(tx: ChatTx, member: MemberRow): void {
  tx.update(schema.members)
    .set({ deliveredSeq: member.deliveredSeq, readSeq: member.readSeq })
    .where(eq(schema.members.userId, member.userId))
    .run();
}
