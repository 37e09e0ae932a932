/**
 * The device's `received` and `read` marks: each chat's cursor is told to the server once it
 * moves (the peer's double tick), reads once the app marks them (blue ticks). Kept while the
 * connection is down and sent once the next `ready` was handled.
 */
import type { ClientFrame } from "../protocol/frames";

export interface MarksHost {
  /** Whether frames may go out now (the socket is open and its `ready` was handled). */
  live(): boolean;
  send(frame: ClientFrame): boolean;
  cursor(chatId: string): number;
}

export class Marks {
  private receivedSent = new Map<string, number>();
  private readonly receivedDue = new Set<string>();
  private readonly readWanted = new Map<string, number>();
  private readonly readSent = new Map<string, number>();

  constructor(private readonly host: MarksHost) {}

  /** A new connection: the server knows nothing this device said on the old one for sure. */
  reset(): void {
    this.receivedSent = new Map();
    this.readSent.clear();
  }

  /** The chat's cursor may be ahead of what the server was told: say it (soon, once per burst). */
  receivedDueFor(chatId: string): void {
    this.receivedDue.add(chatId);
  }

  markRead(chatId: string, seq: number): void {
    if (seq <= Math.max(this.readWanted.get(chatId) ?? 0, this.readSent.get(chatId) ?? 0)) return;
    this.readWanted.set(chatId, seq);
    this.flushReads();
  }

  flushReceived(): void {
    if (!this.host.live()) return;
    for (const chatId of this.receivedDue) {
      const seq = this.host.cursor(chatId);
      if (seq > 0 && seq > (this.receivedSent.get(chatId) ?? 0)) {
        if (!this.host.send({ type: "received", chatId, seq })) return;
        this.receivedSent.set(chatId, seq);
      }
      this.receivedDue.delete(chatId);
    }
  }

  flushReads(): void {
    if (!this.host.live()) return;
    for (const [chatId, seq] of this.readWanted) {
      if (!this.host.send({ type: "read", chatId, seq })) return;
      this.readSent.set(chatId, seq);
      this.readWanted.delete(chatId);
    }
  }
}
