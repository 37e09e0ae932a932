/**
 * `received` and `read` frames on their way to the chat objects, one call in flight per chat.
 * Frames that arrive meanwhile are merged into the next call: receipts are watermarks, so
 * only the highest seqs matter, and a burst of acknowledgements costs one call and one write.
 * A receipt may also wait a little before it goes (groups' `delivered`, see `frames.ts`), so
 * that it merges with those that follow; a `read` sends whatever waits at once.
 */
import type { ReceiptStatus } from "../../protocol";
import type { Outcome, Watermarks } from "../contracts";
import { errorFields, logEvent } from "../log-event";

/** The frame a receipt came from, to answer it with an error when the chat refuses. */
export interface ReceiptWaiter {
  ws: WebSocket;
  deviceId: string;
  status: ReceiptStatus;
  id?: string;
}

export type MarkFn = (chatId: string, userId: string, marks: Watermarks) => Promise<Outcome<Watermarks>>;
export type DoneFn = (chatId: string, result: Outcome<Watermarks>, waiters: ReceiptWaiter[]) => void;

interface Pending extends Watermarks {
  userId: string;
  waiters: ReceiptWaiter[];
}

export class ReceiptQueue {
  private readonly pending = new Map<string, Pending>();
  private readonly busy = new Set<string>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly mark: MarkFn,
    private readonly done: DoneFn,
  ) {}

  /**
   * Queues a receipt of `userId` (always this object's user) for `chatId` up to `seq`; it goes
   * after at most `delayMs`, merged with any that arrive meanwhile.
   */
  submit(chatId: string, userId: string, seq: number, waiter: ReceiptWaiter, delayMs = 0): void {
    const p = this.pending.get(chatId) ?? { userId, delivered: 0, read: 0, waiters: [] };
    p.delivered = Math.max(p.delivered, seq);
    if (waiter.status === "read") p.read = Math.max(p.read, seq);
    p.waiters.push(waiter);
    this.pending.set(chatId, p);
    if (this.busy.has(chatId)) return;
    if (delayMs > 0 && waiter.status !== "read") {
      if (!this.timers.has(chatId))
        this.timers.set(
          chatId,
          setTimeout(() => this.start(chatId), delayMs),
        );
      return;
    }
    this.start(chatId);
  }

  /**
   * Takes the `delivered` receipts of `chatId` that wait for their delay, to hand them to the
   * chat in the answer to its delivery; none when a `read` waits or a call is in flight.
   */
  takeDelivered(chatId: string): Watermarks | null {
    const p = this.pending.get(chatId);
    if (!p || p.read > 0 || this.busy.has(chatId)) return null;
    this.pending.delete(chatId);
    const timer = this.timers.get(chatId);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(chatId);
    const marks = { delivered: p.delivered, read: 0 };
    this.done(chatId, { ok: true, value: marks }, p.waiters);
    return marks;
  }

  private start(chatId: string): void {
    const timer = this.timers.get(chatId);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(chatId);
    if (!this.busy.has(chatId) && this.pending.has(chatId)) void this.flush(chatId);
  }

  private async flush(chatId: string): Promise<void> {
    this.busy.add(chatId);
    try {
      for (let p = this.pending.get(chatId); p; p = this.pending.get(chatId)) {
        this.pending.delete(chatId);
        let result: Outcome<Watermarks>;
        try {
          result = await this.mark(chatId, p.userId, { delivered: p.delivered, read: p.read });
        } catch (err) {
          logEvent("error", "unexpected_error", {
            source: "UserObject",
            userId: p.userId,
            chatId,
            during: "receipts",
            ...errorFields(err),
          });
          result = { ok: false, code: "internal", message: "the receipt could not be recorded; send it again" };
        }
        this.done(chatId, result, p.waiters);
      }
    } finally {
      this.busy.delete(chatId);
    }
  }
}
