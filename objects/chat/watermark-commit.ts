/**
 * Group commit for members' watermarks: receipts that arrive within a few milliseconds are written
 * in one transaction, and each caller is answered only after that write, so a receipt the chat
 * answered is never lost. A send stored meanwhile takes the waiting rows into its commit
 * (`writeNow`): under load a direct chat's peer acknowledges many times a second, and its receipts
 * then cost no commit of their own.
 */
import type { ChatTx } from "./log";
import type { MemberRow } from "./receipts";

/** How long watermark writes wait for others (or a send) to share their commit. */
export const WATERMARK_BATCH_MS = 5;

interface Waiting {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

export class WatermarkCommit {
  private readonly dirty = new Map<string, MemberRow>();
  private waiting: Waiting | null = null;

  constructor(
    /** Runs `write` in a transaction of its own. */
    private readonly transaction: (write: (tx: ChatTx) => void) => void,
    private readonly writeRow: (tx: ChatTx, member: MemberRow) => void,
  ) {}

  /** Resolves once `member`'s watermarks are written (the answer then waits for their commit). */
  add(member: MemberRow): Promise<void> {
    this.dirty.set(member.userId, member);
    if (this.waiting) return this.waiting.promise;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const waiting: Waiting = {
      promise,
      resolve,
      reject,
      timer: setTimeout(() => this.alone(waiting), WATERMARK_BATCH_MS),
    };
    this.waiting = waiting;
    return promise;
  }

  /**
   * Writes the waiting rows now. Called right after another transaction (a send's) in the same
   * synchronous run: workerd commits that run's writes together, so both share one commit.
   */
  writeNow(): void {
    if (this.waiting) this.alone(this.waiting);
  }

  private alone(waiting: Waiting): void {
    if (this.waiting !== waiting) return;
    const rows = [...this.dirty.values()];
    try {
      this.transaction((tx) => {
        for (const member of rows) this.writeRow(tx, member);
      });
    } catch (err) {
      this.take(waiting);
      waiting.reject(err);
      return;
    }
    this.done(waiting);
  }

  private done(waiting: Waiting): void {
    if (this.take(waiting)) waiting.resolve();
  }

  /** Ends `waiting` if it is still the current one. */
  private take(waiting: Waiting): boolean {
    if (this.waiting !== waiting) return false;
    clearTimeout(waiting.timer);
    this.waiting = null;
    this.dirty.clear();
    return true;
  }
}
