/**
 * Notices to parked members with push subscriptions. A parked member gets no deliveries (see
 * `./parked-members.ts`), but one whose devices take pushes must hear of new messages: at most
 * every `NOTICE_DELAY_MS` the chat sends each such member a `notice` delivery that its object
 * turns into a push (collapsed per chat there too). So a burst costs such a member one call per
 * window, not one per message.
 *
 * Blocks live in each user object, which drops a blocked sender's messages, so a notice carries
 * the newest readable message of each other sender since the member was last told (the newest
 * `MAX_SENDERS` senders, in seq order): the object pushes the newest it does not drop, and a
 * blocked sender's message never hides another's. Members with the same list share one call.
 */
import { and, desc, eq, gt, inArray, max } from "drizzle-orm";
import type { Message } from "../../protocol";
import type { Delivery, DeliveryResult } from "../contracts";
import type { ChatState } from "./chat-core";
import { deliveryOf } from "./fanout";
import { type ChatDb, readMessage } from "./log";
import type { ParkedMembers } from "./parked-members";
import * as schema from "./schema";

export const NOTICE_DELAY_MS = 2_000;
/** A notice carries the newest message of at most this many senders: a user blocks few people. */
const MAX_SENDERS = 10;

export interface NoticesHost {
  readonly db: ChatDb;
  readonly parked: ParkedMembers;
  deliverMany(userIds: string[], delivery: Delivery): Promise<DeliveryResult[]>;
  wakeAt(time: number): void;
}

export class Notices {
  constructor(private readonly host: NoticesHost) {}

  /** Messages people read were stored: members behind get a notice within the window. */
  due(chat: ChatState): void {
    if (this.host.parked.behind(chat.lastSeq).length > 0) this.host.wakeAt(Date.now() + NOTICE_DELAY_MS);
  }

  /** Sends the notices that are due (from the alarm); a member whose call fails is tried again. */
  async send(chat: ChatState): Promise<void> {
    const behind = this.host.parked.behind(chat.lastSeq).filter((u) => chat.members.has(u));
    if (behind.length === 0) return;
    // Members told up to the same seq share a query; most were told together, in the last round.
    const newestByTold = new Map<number, { sender: string; seq: number }[]>();
    const byList = new Map<string, { seqs: number[]; userIds: string[] }>();
    const none: string[] = [];
    for (const userId of behind) {
      const toldSeq = this.host.parked.toldSeq(userId);
      const newest = newestByTold.get(toldSeq) ?? this.newestBySender(toldSeq);
      newestByTold.set(toldSeq, newest);
      const seqs = newest
        .filter((r) => r.sender !== userId)
        .slice(0, MAX_SENDERS)
        .map((r) => r.seq)
        .reverse();
      if (seqs.length === 0) {
        none.push(userId);
        continue;
      }
      const list = byList.get(seqs.join());
      if (list) list.userIds.push(userId);
      else byList.set(seqs.join(), { seqs, userIds: [userId] });
    }
    const lists = [...byList.values()];
    const read = new Map(
      [...new Set(lists.flatMap((l) => l.seqs))].map((seq) => [seq, readMessage(this.host.db, chat.chatId, seq)]),
    );
    const told: string[] = [];
    for (const { seqs, userIds } of lists) {
      const messages = seqs.map((seq) => read.get(seq)).filter((m): m is Message => !!m);
      if (messages.length === 0) continue;
      const results = await this.host.deliverMany(userIds, { ...deliveryOf(chat, messages), notice: true });
      for (const r of results) if (r.answer) told.push(r.userId);
      if (results.some((r) => !r.answer)) this.host.wakeAt(Date.now() + NOTICE_DELAY_MS);
    }
    // Members with nothing new from others (only their own messages) count as told too.
    this.host.parked.told([...told, ...none], chat.lastSeq);
  }

  /**
   * Each sender's newest message people read (not deleted) after `afterSeq`, newest first: one
   * sender more than a notice holds, for the member who is one of them.
   */
  private newestBySender(afterSeq: number): { sender: string; seq: number }[] {
    const m = schema.messages;
    const newest = max(m.seq);
    return this.host.db
      .select({ sender: m.sender, seq: newest })
      .from(m)
      .where(and(gt(m.seq, afterSeq), inArray(m.kind, ["text", "attachment"]), eq(m.deleted, false)))
      .groupBy(m.sender)
      .orderBy(desc(newest))
      .limit(MAX_SENDERS + 1)
      .all()
      .map((r) => ({ sender: r.sender, seq: r.seq ?? 0 }));
  }
}
