/**
 * Asking the user's chats where they stand, for what the inbox cannot answer alone: on connect,
 * the chats that parked the user (every chat after a crash, see `UserStores.suspect`), and for
 * the chat list, parked chats and stale unread counts.
 */
import type { ChatSummary } from "../contracts";
import type { Inbound } from "./inbound";
import type { UserStores } from "./stores";

export class ChatRefresh {
  private resuming: Promise<void> | null = null;

  constructor(
    private readonly stores: UserStores,
    private readonly inbound: Inbound,
  ) {}

  /** Resumes the parked chats (and, after a crash, every chat); concurrent connects share one round. */
  async resumeChats(userId: string): Promise<void> {
    while (this.resuming) await this.resuming;
    const { inbox } = this.stores;
    const chats = this.stores.suspect ? inbox.all().map((r) => r.chatId) : inbox.parkedChats();
    if (chats.length === 0) return;
    this.stores.suspect = false;
    this.resuming = this.inbound.resume(userId, chats).finally(() => {
      this.resuming = null;
    });
    await this.resuming;
  }

  /** The user's chats, for `GET /v1/chats`. */
  async listChats(userId: string): Promise<ChatSummary[]> {
    const { inbox } = this.stores;
    const ask = inbox
      .all()
      .filter((r) => r.parked || r.unreadStale)
      .map((r) => r.chatId);
    await this.inbound.refresh(userId, ask);
    return inbox.all().map(({ chatId, type, title, lastSeq, readSeq, unread, receiptDelivered, receiptRead }) => ({
      chatId,
      type,
      title,
      lastSeq,
      readSeq,
      unread,
      receipts: { delivered: receiptDelivered, read: receiptRead },
    }));
  }
}
