/**
 * Notices to parked members with push subscriptions. A parked member gets no deliveries (see
 * `./parked-members.ts`), but one whose devices take pushes must hear of new messages: at most
 * every `NOTICE_DELAY_MS` the chat sends each such member the newest message it was not told of,
 * as a `notice` delivery that its object turns into a push (collapsed per chat there too). So a
 * burst costs such a member one call per window, not one per message.
 */
import { and, desc, eq, inArray, ne } from "drizzle-orm";
import type { Delivery, DeliveryResult } from "../contracts";
import type { ChatState } from "./chat-core";
import { deliveryOf } from "./fanout";
import { type ChatDb, readMessage } from "./log";
import type { ParkedMembers } from "./parked-members";
import * as schema from "./schema";

export const NOTICE_DELAY_MS = 2_000;

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
    // Most members get the same newest message; its sender gets the newest of someone else's.
    const bySeq = new Map<number, string[]>();
    const newest = this.newestFrom(null);
    for (const userId of behind) {
      const seq = newest && newest.sender !== userId ? newest.seq : (this.newestFrom(userId)?.seq ?? null);
      if (seq === null || seq <= this.host.parked.toldSeq(userId)) continue;
      bySeq.set(seq, [...(bySeq.get(seq) ?? []), userId]);
    }
    const told: string[] = [];
    for (const [seq, userIds] of bySeq) {
      const message = readMessage(this.host.db, chat.chatId, seq);
      if (!message) continue;
      const results = await this.host.deliverMany(userIds, { ...deliveryOf(chat, [message]), notice: true });
      for (const r of results) if (r.answer) told.push(r.userId);
      if (results.some((r) => !r.answer)) this.host.wakeAt(Date.now() + NOTICE_DELAY_MS);
    }
    // Members with nothing new from others (only their own messages) count as told too.
    const none = behind.filter((u) => ![...bySeq.values()].some((ids) => ids.includes(u)));
    this.host.parked.told([...told, ...none], chat.lastSeq);
  }

  /** The newest message people read that is not deleted, from anyone but `except`. */
  private newestFrom(except: string | null): { seq: number; sender: string } | undefined {
    const m = schema.messages;
    const readable = and(inArray(m.kind, ["text", "attachment"]), eq(m.deleted, false));
    return this.host.db
      .select({ seq: m.seq, sender: m.sender })
      .from(m)
      .where(except === null ? readable : and(readable, ne(m.sender, except)))
      .orderBy(desc(m.seq))
      .limit(1)
      .get();
  }
}
