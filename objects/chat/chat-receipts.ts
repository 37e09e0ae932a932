/**
 * Receipts of the chat object: members' watermarks moving forward (group-committed, or riding on
 * a send's commit: `./watermark-commit`), the receipt frames owed to senders (at once in a direct
 * chat, coalesced in a group), and message info. The chat object checks access before calling in.
 */
import type { ServerFrame } from "../../protocol";
import type { MessageInfo, ResumeAnswer, Watermarks } from "../contracts";
import { type Outcome, ok, refuse } from "../outcome";
import type { ChatCore, ChatState } from "./chat-core";
import { countUnread, lastSentBySender, readMessage } from "./log";
import { blocks, readReceiptsOff, writeWatermarks } from "./membership";
import { advance, lowestOfOthers, type MemberRow, ReceiptTracker } from "./receipts";
import * as schema from "./schema";
import { canSee } from "./visibility";
import { WatermarkCommit } from "./watermark-commit";

/** Group receipts are coalesced over this window: one frame per sender and status at most. */
const RECEIPT_WINDOW_MS = 250;

export class ChatReceipts {
  private tracker: ReceiptTracker | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly watermarks: WatermarkCommit;

  constructor(private readonly chat: ChatCore) {
    this.watermarks = new WatermarkCommit((write) => chat.transaction(write), writeWatermarks);
  }

  /** Writes the watermarks waiting for their commit now; see `WatermarkCommit.writeNow`. */
  writeWaiting(): void {
    this.watermarks.writeNow();
  }

  /** Who sent what, read from the log the first time receipts are needed after a wake. */
  private get senders(): ReceiptTracker {
    this.tracker ??= new ReceiptTracker(lastSentBySender(this.chat.db));
    return this.tracker;
  }

  noteSent(sender: string, seq: number): void {
    this.senders.noteSent(sender, seq);
  }

  /** Moves `member`'s watermarks; answers once they are written. */
  async mark(chat: ChatState, member: MemberRow, marks: Watermarks): Promise<Watermarks> {
    const delivered = advance(member, "delivered", marks.delivered, chat.lastSeq);
    const read = marks.read > 0 && advance(member, "read", marks.read, chat.lastSeq);
    if (delivered || read) {
      await this.watermarks.add(member);
      if (chat.type === "direct") void this.flush();
      else this.schedule();
    }
    return { delivered: member.deliveredSeq, read: member.readSeq };
  }

  /** The ticks of `userId`'s own messages: the lowest watermarks of the other members. */
  of(chat: ChatState, userId: string): Watermarks {
    // A blocked user gets no receipts from the blocker: its ticks stay where they were.
    if (blocks(chat, userId)) return { delivered: 0, read: 0 };
    const at = (status: "delivered" | "read") =>
      Math.min(lowestOfOthers(chat.members.values(), status)(userId), chat.lastSeq);
    return { delivered: at("delivered"), read: readReceiptsOff(chat) ? 0 : at("read") };
  }

  /**
   * Where the log stands for `userId`, its unread count after `readSeq` (or its own mark, if
   * later) and its ticks. What was said before its latest join is not unread: it cannot see it.
   */
  standing(chat: ChatState, userId: string, readSeq: number): ResumeAnswer {
    const member = chat.members.get(userId);
    const read = Math.max(readSeq, member?.readSeq ?? 0, member?.joinedSeq ?? 0);
    return { lastSeq: chat.lastSeq, unread: countUnread(this.chat.db, userId, read), receipts: this.of(chat, userId) };
  }

  /** Who holds and who has read `seq`: for its sender, and in groups for admins. */
  info(chat: ChatState, caller: string, seq: number): Outcome<MessageInfo> {
    const message = readMessage(this.chat.db, chat.chatId, seq);
    // A message hidden from the caller (history visibility) is one it cannot ask about.
    if (!message || !canSee(this.chat.db, chat, caller, seq)) return refuse("not_found", "no such message");
    const isAdmin = chat.type === "group" && chat.members.get(caller)?.role === "admin";
    if (message.sender !== caller && !isAdmin) {
      return refuse("forbidden", "only the sender or an admin sees message info");
    }
    const holders = [
      ...[...chat.members.values()].map((m) => ({ ...m, leftSeq: Number.POSITIVE_INFINITY })),
      ...this.chat.db.select().from(schema.formerMembers).all(),
    ]
      .filter((m) => m.userId !== message.sender && m.joinedSeq <= seq && seq < m.leftSeq)
      // What a blocker holds and reads is not the blocked sender's to see.
      .filter((m) => !(chat.type === "direct" && "blocking" in m && m.blocking));
    const delivered = new Set(holders.filter((m) => m.deliveredSeq >= seq).map((m) => m.userId));
    const read = new Set(readReceiptsOff(chat) ? [] : holders.filter((m) => m.readSeq >= seq).map((m) => m.userId));
    return ok({ seq, delivered: [...delivered].sort(), read: [...read].sort() });
  }

  /** A group's aggregate may have moved (a watermark, or who counts): receipts go out after the window. */
  schedule(): void {
    this.timer ??= setTimeout(() => void this.flush(), RECEIPT_WINDOW_MS);
  }

  /** Pushes the receipts that are due; resolves when they reached the senders' objects. */
  private async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const chat = this.chat.state();
    if (!chat) return;
    const byUser = new Map<string, ServerFrame[]>();
    for (const { userId, frame } of this.senders.due(chat)) {
      if (blocks(chat, userId)) continue;
      if (frame.status === "read" && readReceiptsOff(chat)) continue;
      byUser.set(userId, [...(byUser.get(userId) ?? []), frame]);
    }
    await Promise.all([...byUser].map(([userId, frames]) => this.chat.pushTo([userId], frames)));
  }
}
