/**
 * Members whose user objects said no device of theirs is connected: the chat delivers nothing
 * to them until they resume (a device connects). Each park and resume carries the user
 * object's stamp, so a park answer that crossed a later resume on the way is ignored. Memory
 * only: after a restart every member gets the next delivery, and those still offline park again.
 */
export class ParkedMembers {
  private readonly parked = new Set<string>();
  private readonly resumedAt = new Map<string, number>();

  park(userId: string, stamp: number): void {
    if ((this.resumedAt.get(userId) ?? 0) < stamp) this.parked.add(userId);
  }

  resume(userId: string, stamp: number): void {
    this.parked.delete(userId);
    this.resumedAt.set(userId, Math.max(stamp, this.resumedAt.get(userId) ?? 0));
  }

  /** The members to deliver to: those not parked. */
  reachable(members: Iterable<string>): string[] {
    return [...members].filter((u) => !this.parked.has(u));
  }

  forget(userId: string): void {
    this.parked.delete(userId);
    this.resumedAt.delete(userId);
  }

  get size(): number {
    return this.parked.size;
  }
}
