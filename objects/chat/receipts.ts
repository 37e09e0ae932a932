/**
 * Receipts as watermarks: each member's delivered-up-to and read-up-to seq, which only move
 * forward. A sender is told of the lowest watermark among the other members (in a direct chat,
 * simply the peer's), and only when that moves past what the sender was last told.
 */
import type { ReceiptStatus, ServerFrame } from "../../protocol";
import type * as schema from "./schema";

export type MemberRow = typeof schema.members.$inferSelect;
export const STATUSES: readonly ReceiptStatus[] = ["delivered", "read"];

/** Moves a member's watermark to `seq` (capped at the last seq); read carries delivered along. */
export function advance(member: MemberRow, status: ReceiptStatus, seq: number, lastSeq: number): boolean {
  const target = Math.min(seq, lastSeq);
  let moved = false;
  if (target > member.deliveredSeq) {
    member.deliveredSeq = target;
    moved = true;
  }
  if (status === "read" && target > member.readSeq) {
    member.readSeq = target;
    moved = true;
  }
  return moved;
}

/** A member's watermark, counting everything before its join as reached. */
function effective(m: MemberRow, status: ReceiptStatus): number {
  return Math.max(status === "read" ? m.readSeq : m.deliveredSeq, m.joinedSeq - 1);
}

/** For any member, the lowest watermark among the others, in one pass over the members. */
export function lowestOfOthers(members: Iterable<MemberRow>, status: ReceiptStatus): (userId: string) => number {
  let min1 = Number.POSITIVE_INFINITY;
  let min2 = Number.POSITIVE_INFINITY;
  let holder: string | null = null;
  let holders = 0;
  for (const m of members) {
    const v = effective(m, status);
    if (v < min1) {
      min2 = min1;
      min1 = v;
      holder = m.userId;
      holders = 1;
    } else if (v === min1) {
      holders += 1;
    } else if (v < min2) {
      min2 = v;
    }
  }
  return (userId) => (userId === holder && holders === 1 ? min2 : min1);
}

export interface ReceiptPush {
  userId: string;
  frame: Extract<ServerFrame, { type: "receipt" }>;
}

/** Remembers what each sender was told, and works out who is owed a new receipt. */
export class ReceiptTracker {
  private readonly told = new Map<string, Record<ReceiptStatus, number>>();

  constructor(readonly lastSent: Map<string, number>) {}

  noteSent(sender: string, seq: number): void {
    this.lastSent.set(sender, Math.max(this.lastSent.get(sender) ?? 0, seq));
  }

  /** The receipts owed now to senders whose messages reached a higher watermark. */
  due(chat: {
    chatId: string;
    type: "direct" | "group";
    lastSeq: number;
    members: Map<string, MemberRow>;
  }): ReceiptPush[] {
    const pushes: ReceiptPush[] = [];
    for (const status of STATUSES) {
      const lowest = lowestOfOthers(chat.members.values(), status);
      for (const [sender, lastSent] of this.lastSent) {
        if (!chat.members.has(sender)) continue;
        const seq = Math.min(lowest(sender), chat.lastSeq);
        const told = this.told.get(sender) ?? { delivered: 0, read: 0 };
        if (Math.min(seq, lastSent) <= told[status]) continue;
        told[status] = seq;
        this.told.set(sender, told);
        const frame: ReceiptPush["frame"] = { type: "receipt", chatId: chat.chatId, seq, status };
        if (chat.type === "direct") {
          const peer = [...chat.members.keys()].find((u) => u !== sender);
          if (!peer) continue;
          frame.by = peer;
        }
        pushes.push({ userId: sender, frame });
      }
    }
    return pushes;
  }
}
