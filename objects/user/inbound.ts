/**
 * Messages arriving at a user's object: deliveries from chats, the user's own sends (taken from
 * their acks), and the chats it resumes when a device connects. Pushes each chat's messages to
 * the devices in seq order (refilling a gap from the log first) and records them in the inbox.
 *
 * With no device connected, a delivery parks its chat instead: the inbox notes that the chat has
 * news and the chat object stops delivering to this user until a connecting device resumes it.
 * So a message costs nothing for members who are offline, after the first one.
 */
import { directChatMembers, type Message, systemEventOf } from "../../protocol";
import type { Delivery, DeliveryAnswer } from "../contracts";
import { errorFields, logEvent } from "../log-event";
import { mapLimit } from "../map-limit";
import type { OwnCopies } from "../own-copies";
import type { chatStub } from "../stubs";
import type { Inbox } from "./inbox";
import type { Pushes } from "./pushes";
import type { ReceiptQueue } from "./receipt-queue";
import { sendRaw, stateOf } from "./sockets";

const GAP_PAGE = 500;
const MAX_GAP_REFILL = 1_000;
const RESUME_CONCURRENCY = 32;

/** What the inbound path uses of the user object. */
export interface InboundHost {
  sockets(): WebSocket[];
  /** Whether a device is connected or connecting: deliveries are pushed, not parked. */
  online(): boolean;
  readonly inbox: Inbox;
  readonly receipts: ReceiptQueue;
  readonly ownCopies: OwnCopies;
  chat(chatId: string): ReturnType<typeof chatStub>;
  readonly pushes: Pushes;
}

/** Whether `m` is the system message that makes `userId` a member (creation or being added). */
function joins(m: Message, userId: string): boolean {
  const event = systemEventOf(m);
  if (!event) return false;
  if (event.event === "created") return event.members.includes(userId);
  return event.event === "added" && event.userId === userId;
}

export class Inbound {
  private readonly chatLocks = new Map<string, Promise<void>>();
  private lastStamp = 0;

  constructor(private readonly host: InboundHost) {}

  /** A chat's delivery: pushed to the devices, or the chat parked when none is connected. */
  async deliver(userId: string, delivery: Delivery): Promise<DeliveryAnswer> {
    let answer: DeliveryAnswer = {};
    if (delivery.notice) {
      // For a push only: a device that connected since resumed the chat and gets it live.
      if (!this.host.online()) this.host.pushes.queue(userId, delivery, delivery.messages);
      return answer;
    }
    await this.withChatLock(delivery.chatId, async () => {
      if (!delivery.left && !this.host.online()) {
        this.host.pushes.queue(userId, delivery, delivery.messages);
        answer = this.park(delivery);
        return;
      }
      await this.receive(userId, delivery);
      // Receipts of this chat waiting to go ride on the answer instead of a call of their own.
      const marks = this.host.receipts.takeDelivered(delivery.chatId);
      if (marks) answer = { marks };
    });
    return answer;
  }

  /** The user's own messages, just stored: to its other devices and into the inbox, as a delivery would. */
  own(chatId: string, userId: string, sent: { message: Message; deviceId: string }[]): void {
    const known = this.host.inbox.get(chatId);
    const delivery: Delivery = {
      chatId,
      type: known?.type ?? (directChatMembers(chatId) ? "direct" : "group"),
      title: known?.title ?? null,
      messages: sent.map((s) => s.message),
    };
    for (const { message, deviceId } of sent) this.host.ownCopies.note(message, deviceId);
    this.withChatLock(chatId, () => this.receive(userId, delivery)).catch((err) =>
      logEvent("error", "unexpected_error", {
        source: "UserObject",
        userId,
        chatId,
        during: "own messages",
        ...errorFields(err),
      }),
    );
  }

  /**
   * A device is connecting: the chats in `chatIds` deliver to this user again, and the inbox
   * learns where each log stands, so that `ready` names every chat with news.
   */
  async resume(userId: string, chatIds: string[]): Promise<void> {
    const stamp = this.stamp();
    await mapLimit(chatIds, RESUME_CONCURRENCY, async (chatId) => {
      try {
        const readSeq = this.host.inbox.get(chatId)?.readSeq ?? 0;
        const answer = await this.host.chat(chatId).resume(chatId, userId, stamp, readSeq);
        await this.withChatLock(chatId, async () => {
          this.host.inbox.resumed(chatId, answer.ok ? answer.value.lastSeq : 0);
          if (answer.ok) {
            this.host.inbox.setUnread(chatId, answer.value.unread);
            this.host.inbox.noteReceipts(chatId, answer.value.receipts);
          }
        });
      } catch (err) {
        // The chat stays parked in the inbox: the next connect asks again.
        logEvent("warn", "unexpected_error", {
          source: "UserObject",
          userId,
          chatId,
          during: "resume",
          ...errorFields(err),
        });
      }
    });
  }

  /**
   * Learns where the logs of `chatIds` stand and their unread counts, without resuming them:
   * for chats that parked this user or whose count went stale.
   */
  async refresh(userId: string, chatIds: string[]): Promise<void> {
    await mapLimit(chatIds, RESUME_CONCURRENCY, async (chatId) => {
      try {
        const readSeq = this.host.inbox.get(chatId)?.readSeq ?? 0;
        const answer = await this.host.chat(chatId).lastSeqFor(chatId, userId, readSeq);
        if (!answer.ok) return;
        await this.withChatLock(chatId, async () => {
          this.host.inbox.noteLastSeq(chatId, answer.value.lastSeq);
          this.host.inbox.setUnread(chatId, answer.value.unread);
          this.host.inbox.noteReceipts(chatId, answer.value.receipts);
        });
      } catch (err) {
        // The list shows what the inbox knows; the next one asks again.
        logEvent("warn", "unexpected_error", {
          source: "UserObject",
          userId,
          chatId,
          during: "refresh",
          ...errorFields(err),
        });
      }
    });
  }

  private park(delivery: Delivery): DeliveryAnswer {
    const newest = delivery.messages.at(-1)?.seq ?? 0;
    this.host.inbox.park(delivery.chatId, delivery.type, delivery.title, newest);
    return this.host.pushes.any() ? { parked: this.stamp(), push: true } : { parked: this.stamp() };
  }

  /** Strictly increasing within this object, and across its restarts while the clock moves on. */
  private stamp(): number {
    this.lastStamp = Math.max(this.lastStamp + 1, Date.now() * 1_000);
    return this.lastStamp;
  }

  /** Pushes what this user's devices lack of `delivery`, in seq order, and records it in the inbox. */
  private async receive(userId: string, delivery: Delivery): Promise<void> {
    const { chatId, type, title } = delivery;
    const inbox = this.host.inbox;
    const known = inbox.get(chatId);
    const first = delivery.messages[0];
    if (!first) {
      inbox.upsert(chatId, type, title, known?.lastSeq ?? 0);
      return;
    }
    // A chat new to this user, or one it (re)joins, starts at the first message it is sent.
    const joined = delivery.messages.find((m) => joins(m, userId));
    const lastSeq = Math.max(known?.lastSeq ?? first.seq - 1, joined ? joined.seq - 1 : 0);
    let fresh = delivery.messages.filter((m) => m.seq > lastSeq);
    const head = fresh[0];
    if (!head) return;
    const gap = head.seq - 1 - lastSeq;
    // A long gap is left to the devices, which fetch it with `history` when they see the jump.
    if (gap > 0 && gap <= MAX_GAP_REFILL) {
      fresh = [...(await this.fetchRange(chatId, userId, lastSeq, head.seq - 1)), ...fresh];
    } else if (gap > 0) inbox.unreadUnknown(chatId);
    for (const m of fresh) {
      const text = JSON.stringify({ type: "message", ...m });
      const skip = this.host.ownCopies.senderDevice(userId, m);
      for (const ws of this.host.sockets()) {
        if (skip && stateOf(ws)?.deviceId === skip) continue;
        sendRaw(ws, text);
      }
    }
    // Subscribed devices without a socket get a push (own messages and changes never push).
    if (!delivery.left) this.host.pushes.queue(userId, delivery, fresh);
    const newest = fresh.at(-1) as Message;
    inbox.upsert(chatId, type, title, newest.seq);
    inbox.countArrived(chatId, userId, fresh);
    if (delivery.left) inbox.deactivate(chatId);
  }

  private async fetchRange(chatId: string, userId: string, after: number, upTo: number): Promise<Message[]> {
    const out: Message[] = [];
    let cursor = after;
    while (cursor < upTo) {
      const page = await this.host.chat(chatId).history(chatId, userId, { after: cursor, limit: GAP_PAGE });
      if (!page.ok) break;
      const wanted = page.value.messages.filter((m) => m.seq <= upTo);
      // A run hidden from this member (history visibility) is no message: devices page over it with `history`.
      out.push(...wanted.filter((m): m is Message => m.kind !== "hidden"));
      const last = wanted.at(-1);
      if (!last || !page.value.more) break;
      cursor = last.kind === "hidden" ? last.through : last.seq;
    }
    return out;
  }

  private async withChatLock(chatId: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chatLocks.get(chatId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.chatLocks.set(chatId, tail);
    try {
      await run;
    } finally {
      if (this.chatLocks.get(chatId) === tail) this.chatLocks.delete(chatId);
    }
  }
}
