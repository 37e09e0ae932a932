/**
 * Sends from this user's devices, queued per chat. While one call to a chat object is in
 * flight, later sends wait and then go together in one call, which the chat stores in one
 * transaction: the order of sends is kept, and a burst costs one commit instead of many.
 */
import type { Ack, SendItem } from "../chat/chat-object";
import type { Outcome } from "../outcome";

export type SendBatchFn = (chatId: string, userId: string, items: SendItem[]) => Promise<Outcome<Ack[]>>;

interface Pending {
  item: SendItem;
  resolve: (result: Outcome<Ack>) => void;
}

const MAX_BATCH = 64;

export class SendQueue {
  private readonly queues = new Map<string, Pending[]>();

  constructor(private readonly sendBatch: SendBatchFn) {}

  /** Queues a send by `userId` (always this object's user) to `chatId`; resolves with its ack. */
  submit(chatId: string, userId: string, item: SendItem): Promise<Outcome<Ack>> {
    return new Promise((resolve) => {
      const queue = this.queues.get(chatId);
      if (queue) {
        queue.push({ item, resolve });
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
      let results: Outcome<Ack[]>;
      try {
        results = await this.sendBatch(
          chatId,
          userId,
          batch.map((p) => p.item),
        );
      } catch (err) {
        console.error(`send to ${chatId} failed`, String(err));
        results = { ok: false, code: "internal", message: "the chat could not store the message; resend it" };
      }
      batch.forEach((p, i) => {
        if (!results.ok) p.resolve(results);
        else {
          const ack = results.value[i];
          p.resolve(ack ? { ok: true, value: ack } : { ok: false, code: "internal", message: "no ack" });
        }
      });
    }
    this.queues.delete(chatId);
  }
}
