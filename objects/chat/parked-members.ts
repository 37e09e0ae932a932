/**
 * Members whose user objects said no device of theirs is connected: the chat delivers nothing
 * to them until they resume (a device connects). Each park and resume carries the user
 * object's stamp, so a park answer that crossed a later resume on the way is ignored.
 *
 * The set is kept in the chat's SQLite too, so that a chat waking up (after hibernation or a
 * restart) does not call every offline member again. Parks from one round are written together
 * a few milliseconds later (one commit); a resume is written at once. A park lost in a crash
 * only costs that member one more delivery, which parks it again.
 */
import { inArray } from "drizzle-orm";
import type { ChatDb } from "./log";
import * as schema from "./schema";

const WRITE_DELAY_MS = 5;

export class ParkedMembers {
  private readonly parked = new Set<string>();
  /** Parked members with push subscriptions → the newest seq each was told of. */
  private readonly notified = new Map<string, number>();
  private readonly resumedAt = new Map<string, number>();
  private readonly unwritten = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly db: ChatDb) {}

  /** Reads the parked members stored by an earlier run. */
  load(): void {
    for (const { userId, push, notifiedSeq } of this.db.select().from(schema.parkedMembers).all()) {
      this.parked.add(userId);
      if (push) this.notified.set(userId, notifiedSeq);
    }
  }

  /** `userId` parked at `stamp`, told of messages up to `seq`; `push`: it wants notices. */
  park(userId: string, stamp: number, push = false, seq = 0): void {
    if ((this.resumedAt.get(userId) ?? 0) >= stamp || this.parked.has(userId)) return;
    this.parked.add(userId);
    if (push) this.notified.set(userId, seq);
    this.unwritten.add(userId);
    this.timer ??= setTimeout(() => this.write(), WRITE_DELAY_MS);
  }

  resume(userId: string, stamp: number): void {
    this.resumedAt.set(userId, Math.max(stamp, this.resumedAt.get(userId) ?? 0));
    this.forget(userId);
  }

  /** The member is no longer parked (it resumed, left, or is being added back). */
  forget(userId: string): void {
    this.notified.delete(userId);
    if (!this.parked.delete(userId)) return;
    if (!this.unwritten.delete(userId)) {
      this.db
        .delete(schema.parkedMembers)
        .where(inArray(schema.parkedMembers.userId, [userId]))
        .run();
    }
  }

  /** The members to deliver to: those not parked. */
  reachable(members: Iterable<string>): string[] {
    return [...members].filter((u) => !this.parked.has(u));
  }

  /** Parked members with push subscriptions told of nothing after `seq`. */
  behind(seq: number): string[] {
    return [...this.notified].filter(([, told]) => told < seq).map(([userId]) => userId);
  }

  /** The newest seq `userId` was told of. */
  toldSeq(userId: string): number {
    return this.notified.get(userId) ?? 0;
  }

  /** `userIds` were told of messages up to `seq`: written with the caller's event. */
  told(userIds: string[], seq: number): void {
    for (const userId of userIds) if (this.notified.has(userId)) this.notified.set(userId, seq);
    const stored = userIds.filter((u) => !this.unwritten.has(u));
    for (let i = 0; i < stored.length; i += 90) {
      this.db
        .update(schema.parkedMembers)
        .set({ notifiedSeq: seq })
        .where(inArray(schema.parkedMembers.userId, stored.slice(i, i + 90)))
        .run();
    }
  }

  private write(): void {
    this.timer = null;
    const rows = [...this.unwritten].map((userId) => ({
      userId,
      push: this.notified.has(userId),
      notifiedSeq: this.notified.get(userId) ?? 0,
    }));
    this.unwritten.clear();
    // Statements of one synchronous run share one commit; 30 rows of 3 values stay under the 100 a statement may bind.
    for (let i = 0; i < rows.length; i += 30) {
      this.db
        .insert(schema.parkedMembers)
        .values(rows.slice(i, i + 30))
        .onConflictDoNothing()
        .run();
    }
  }
}
