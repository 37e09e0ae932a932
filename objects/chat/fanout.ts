/**
 * Fan-out of stored messages to the members' user objects, after the commit.
 * Messages queue up while a round is in flight and go out together in the next round, one
 * delivery per member who has not parked (see `../../docs/fan-out.md`), in seq order. A member whose call fails is remembered and retried by the chat's
 * alarm; the user object repairs any gap from the log, so a retry needs only the latest seq.
 * A message sent over a socket is not delivered back to its sender's object: that object
 * takes it from the ack (see `../own-copies.ts`).
 */
import type { Message } from "../../protocol";
import type { Delivery, DeliveryAnswer, DeliveryResult } from "../contracts";
import { logEvent } from "../log-event";
import type { ChatState } from "./chat-core";

/** A delivery of `messages` from `chat`. */
export function deliveryOf(chat: Pick<ChatState, "chatId" | "type" | "title">, messages: Message[]): Delivery {
  return { chatId: chat.chatId, type: chat.type, title: chat.title, messages };
}

/** Delivers one delivery to many members (directly, or through relay objects); one result each. */
export type DeliverManyFn = (userIds: string[], delivery: Delivery) => Promise<DeliveryResult[]>;
/** What the chat does with a member's answer (it parked, or handed over receipts) to a delivery up to `lastSeq`. */
export type AnswerFn = (userId: string, answer: DeliveryAnswer, lastSeq: number) => void;

export class Fanout {
  private queue: Message[] = [];
  /** Seqs of messages whose sender's object takes its copy from the ack. */
  private ownCopies = new Set<number>();
  private running: Promise<void> | null = null;
  /** Members whose last delivery failed; retried until it succeeds. */
  readonly failed = new Set<string>();
  /** The highest seq that reached every member without failure. */
  deliveredSeq = 0;

  constructor(
    private readonly deliverMany: DeliverManyFn,
    private readonly answered: AnswerFn,
    private readonly describe: () => {
      chatId: string;
      type: "direct" | "group";
      title: string | null;
      members: string[];
      /** The seq of the message that made `userId` a member: it gets nothing older live. */
      joinedSeq(userId: string): number;
    },
  ) {}

  enqueue(messages: Message[], ownCopies: ReadonlySet<number>): void {
    if (messages.length === 0) return;
    for (const seq of ownCopies) this.ownCopies.add(seq);
    this.queue.push(...messages);
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when everything queued so far has been attempted. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Sends `messages` to the given members only (retries, or a member who just joined). */
  async deliverTo(userIds: Iterable<string>, messages: Message[]): Promise<void> {
    const info = this.describe();
    const lastSeq = messages.at(-1)?.seq ?? 0;
    await this.settle(info.chatId, await this.deliverMany([...userIds], deliveryOf(info, messages)), lastSeq);
  }

  /**
   * The alarm's round: after a restart (nothing known delivered up to `latest`) every member gets
   * it again, else only those whose delivery failed. Answers whether every member now has it.
   */
  async retry(members: Iterable<string>, latest: Message): Promise<boolean> {
    const targets = this.deliveredSeq < latest.seq ? [...members] : [...this.failed];
    if (targets.length > 0) await this.deliverTo(targets, [latest]);
    if (this.failed.size > 0) return false;
    this.deliveredSeq = Math.max(this.deliveredSeq, latest.seq);
    return true;
  }

  private async drain(): Promise<void> {
    // Start after the caller's synchronous bookkeeping (e.g. a member just added) is done.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      const info = this.describe();
      const own = batch.filter((m) => this.ownCopies.delete(m.seq));
      // A sender whose object took its copies from the acks gets the rest of the round, if any,
      // and a member added during the round only what was stored from its `added` message on.
      const first = (batch[0] as Message).seq;
      const apart = new Set([...own.map((m) => m.sender), ...info.members.filter((u) => info.joinedSeq(u) > first)]);
      const rounds = [
        this.deliverMany(
          info.members.filter((u) => !apart.has(u)),
          deliveryOf(info, batch),
        ),
      ];
      for (const userId of apart) {
        const from = info.joinedSeq(userId);
        const rest = batch.filter((m) => m.seq >= from && (m.sender !== userId || !own.includes(m)));
        if (rest.length > 0 && info.members.includes(userId))
          rounds.push(this.deliverMany([userId], deliveryOf(info, rest)));
      }
      const last = batch.at(-1);
      const allOk = this.settle(info.chatId, (await Promise.all(rounds)).flat(), last?.seq ?? 0);
      if (allOk && this.failed.size === 0 && last) this.deliveredSeq = last.seq;
    }
  }

  /** Takes in a round's results; answers whether every member got it. */
  private settle(chatId: string, results: DeliveryResult[], lastSeq: number): boolean {
    let allOk = true;
    const failed: DeliveryResult[] = [];
    for (const r of results) {
      if (r.answer) {
        this.failed.delete(r.userId);
        this.answered(r.userId, r.answer, lastSeq);
      } else {
        allOk = false;
        this.failed.add(r.userId);
        failed.push(r);
      }
    }
    // One line per round, however many members it missed.
    const first = failed[0];
    if (first) {
      const fields = {
        source: "ChatObject",
        chatId,
        count: failed.length,
        peerId: first.userId,
        error: first.error,
      } as const;
      logEvent("warn", "delivery_failed", fields);
    }
    return allOk;
  }
}
