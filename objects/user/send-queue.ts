/**
 * Sends from this user's devices, queued per chat. While one call to a chat object is in
 * flight, later sends wait and then go together in one call, which the chat stores in one
 * transaction: the order of sends is kept, and a burst costs one commit instead of many.
 * A device that keeps several sends in flight answers each ack with its next send: when sends
 * already wait after a call, the next call also waits (at most `GATHER_MS`) for as many as were
 * just acked, so that the two halves of the device's window share one call and one commit
 * instead of alternating between two half-full ones.
 * The chat does not deliver these messages back to this object (see `../own-copies.ts`):
 * `stored` hands them over from the acks, for the user's other devices and the inbox.
 */
import type { Message } from "../../protocol";
import type { Ack, Outcome, SendItem } from "../contracts";
import { errorFields, logEvent } from "../log-event";
import { takesOwnCopy } from "../own-copies";

export type SendBatchFn = (chatId: string, userId: string, items: SendItem[]) => Promise<Outcome<Outcome<Ack>[]>>;
/** Newly stored messages of this user, in seq order, with the device each came from. */
export type StoredFn = (chatId: string, userId: string, messages: { message: Message; deviceId: string }[]) => void;

interface Pending {
  item: SendItem;
  resolve: (result: Outcome<Ack>) => void;
}

const MAX_BATCH = 64;
/** The longest a waiting batch waits for the sends that the last acks release. */
export const GATHER_MS = 2;

interface Gather {
  until: number;
  done: () => void;
}

export class SendQueue {
  private readonly queues = new Map<string, Pending[]>();
  private readonly gathering = new Map<string, Gather>();

  constructor(
    private readonly sendBatch: SendBatchFn,
    private readonly stored: StoredFn,
  ) {}

  /** Queues a send by `userId` (always this object's user) to `chatId`; resolves with its ack. */
  submit(chatId: string, userId: string, item: SendItem): Promise<Outcome<Ack>> {
    return new Promise((resolve) => {
      const queue = this.queues.get(chatId);
      if (queue) {
        queue.push({ item, resolve });
        const gather = this.gathering.get(chatId);
        if (gather && queue.length >= gather.until) gather.done();
        return;
      }
      this.queues.set(chatId, [{ item, resolve }]);
      void this.flush(chatId, userId);
    });
  }

  private async flush(chatId: string, userId: string): Promise<void> {
    const queue = this.queues.get(chatId) ?? [];
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      let results: Outcome<Outcome<Ack>[]>;
      try {
        results = await this.sendBatch(
          chatId,
          userId,
          batch.map((p) => p.item),
        );
      } catch (err) {
        logEvent("error", "unexpected_error", {
          source: "UserObject",
          userId,
          chatId,
          during: "send",
          ...errorFields(err),
        });
        results = { ok: false, code: "internal", message: "the chat could not store the message; resend it" };
      }
      const fresh: { message: Message; deviceId: string }[] = [];
      batch.forEach((p, i) => {
        const result = results.ok ? results.value[i] : results;
        p.resolve(result ?? { ok: false, code: "internal", message: "no ack" });
        const ack = result?.ok ? result.value : undefined;
        if (!ack || ack.duplicate || !p.item.deviceId || !takesOwnCopy(p.item)) return;
        fresh.push({ message: ack.message, deviceId: p.item.deviceId });
      });
      if (fresh.length > 0) this.stored(chatId, userId, fresh);
      if (queue.length > 0 && queue.length < MAX_BATCH) await this.gather(chatId, queue.length + batch.length);
    }
    this.queues.delete(chatId);
  }

  /** Waits until `chatId`'s queue holds `until` sends (or `MAX_BATCH`), at most `GATHER_MS`. */
  private gather(chatId: string, until: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), GATHER_MS);
      const done = () => {
        clearTimeout(timer);
        this.gathering.delete(chatId);
        resolve();
      };
      this.gathering.set(chatId, { until: Math.min(until, MAX_BATCH), done });
    });
  }
}
