/**
 * Group membership operations of the chat object: create, add, remove or leave, and role
 * changes. Admins add, remove and promote; anyone leaves. Each change is a system message.
 */
import {
  type HistoryMode,
  MAX_HISTORY_LIMIT,
  MAX_LISTED_MEMBERS,
  MAX_TITLE_LENGTH,
  type Message,
  type Role,
  type SystemEvent,
  systemBody,
} from "../../protocol";
import { errorFields, logEvent } from "../log-event";
import { type Outcome, ok, refuse } from "../outcome";
import type { ChatCore, ChatState } from "./chat-core";
import { deliveryOf } from "./fanout";
import { readHistory } from "./log";
import { writeGroupInfo, writeMember, writeRemoval } from "./membership";
import type { MemberRow } from "./receipts";
import { closeStretch, openStretch } from "./visibility";

export class GroupAdmin {
  /** Farewells whose delivery failed, by former member: retried by the chat's alarm (memory only). */
  private readonly farewells = new Map<string, Message[]>();

  constructor(private readonly chat: ChatCore) {}

  /** Whether some farewell still waits for a retry. */
  get farewellsPending(): boolean {
    return this.farewells.size > 0;
  }

  create(
    chatId: string,
    creator: string,
    title: string,
    memberIds: string[],
    history: HistoryMode,
  ): Outcome<{ chatId: string }> {
    if (this.chat.state()) return refuse("internal", "chat id already in use; try again");
    const ids = [...new Set([creator, ...memberIds])];
    const max = this.chat.settings.maxGroupMembers;
    if (ids.length > max) return refuse("bad_request", `a group holds at most ${max} members`);
    const cleanTitle = title.trim();
    if (!cleanTitle || cleanTitle.length > MAX_TITLE_LENGTH) {
      return refuse("bad_request", `title must be 1 to ${MAX_TITLE_LENGTH} characters`);
    }
    const members = new Map<string, MemberRow>(
      ids.map((userId) => [
        userId,
        {
          userId,
          role: userId === creator ? "admin" : "member",
          joinedSeq: 1,
          deliveredSeq: 0,
          readSeq: 0,
          blocking: false,
          readReceipts: true,
        },
      ]),
    );
    const state: ChatState = {
      chatId,
      type: "group",
      title: cleanTitle,
      history,
      lastSeq: 0,
      fannedOutSeq: 0,
      members,
    };
    this.chat.create(state, (tx, append) => {
      writeGroupInfo(tx, state, creator, Date.now());
      for (const row of members.values()) {
        writeMember(tx, row);
        openStretch(tx, row.userId, 1);
      }
      // A large group's first message names its first members and counts them all.
      const listed =
        ids.length > MAX_LISTED_MEMBERS
          ? { members: ids.slice(0, MAX_LISTED_MEMBERS), memberCount: ids.length }
          : { members: ids };
      append(this.system({ event: "created", actor: creator, title: cleanTitle, ...listed }));
    });
    return ok({ chatId });
  }

  add(chatId: string, actor: string, userId: string, role: Role): Outcome<{ seq: number }> {
    const admin = this.asAdmin(chatId, actor);
    if (!admin.ok) return admin;
    const chat = admin.value;
    if (chat.members.has(userId)) return refuse("bad_request", `${userId} is already a member`);
    const max = this.chat.settings.maxGroupMembers;
    if (chat.members.size >= max) return refuse("bad_request", `a group holds at most ${max} members`);
    const row = this.chat.commit((tx, append) => {
      const m = append(this.system({ event: "added", actor, userId }));
      const member: MemberRow = {
        userId,
        role,
        joinedSeq: m.seq,
        deliveredSeq: 0,
        readSeq: 0,
        blocking: false,
        readReceipts: true,
      };
      writeMember(tx, member);
      openStretch(tx, userId, m.seq);
      // The log alone tells every member's role: an admin from the start is also a promotion.
      if (role === "admin") append(this.system({ event: "promoted", actor, userId }));
      return member;
    });
    chat.members.set(userId, row);
    // Back in the group: the add delivers what it needs, and a late farewell would undo it.
    this.farewells.delete(userId);
    return ok({ seq: row.joinedSeq });
  }

  /** Removes `userId` (an admin's act) or lets a member leave (`actor` = `userId`). */
  async remove(chatId: string, actor: string, userId: string): Promise<Outcome<{ seq: number }>> {
    const check = () => {
      const access = this.chat.access(chatId, actor);
      if (!access.ok) return access;
      if (access.value.type !== "group") return refuse("bad_request", "direct chats have fixed members");
      if (actor !== userId && access.value.members.get(actor)?.role !== "admin") {
        return refuse("forbidden", "only admins remove other members");
      }
      if (!access.value.members.has(userId)) return refuse("not_found", `${userId} is not a member`);
      return access;
    };
    if (!check().ok) return check() as Outcome<never>;
    // Everything stored before the removal reaches the member before it goes.
    await this.chat.fanoutIdle();
    const access = check();
    if (!access.ok) return access;
    const chat = access.value;
    const member = chat.members.get(userId) as MemberRow;
    let heir: MemberRow | undefined;
    const removal = this.chat.commit((tx, append) => {
      const event: SystemEvent = actor === userId ? { event: "left", actor } : { event: "removed", actor, userId };
      const m = append(this.system(event));
      writeRemoval(tx, member, m.seq);
      closeStretch(tx, userId, m.seq);
      const rest = [...chat.members.values()].filter((r) => r.userId !== userId);
      if (member.role === "admin" && rest.length > 0 && !rest.some((r) => r.role === "admin")) {
        heir = rest.reduce((a, b) => (b.joinedSeq < a.joinedSeq ? b : a));
        heir = { ...heir, role: "admin" };
        writeMember(tx, heir);
        append(this.system({ event: "promoted", actor: userId, userId: heir.userId }));
      }
      return m;
    });
    chat.members.delete(userId);
    // A failed delivery is no longer retried for it (it is not a member): the farewell carries what it may lack.
    const missed = this.chat.forgetFailed(userId) ? this.unsent(chat, member, removal.seq) : [];
    if (heir) chat.members.set(heir.userId, heir);
    // Who counts for the group tick changed: the sender may be owed a receipt.
    this.chat.receiptsMayHaveMoved();
    void this.farewell(chat, userId, [...missed, removal]);
    return ok({ seq: removal.seq });
  }

  setRole(chatId: string, actor: string, userId: string, role: Role): Outcome<{ seq: number }> {
    const admin = this.asAdmin(chatId, actor);
    if (!admin.ok) return admin;
    const chat = admin.value;
    const member = chat.members.get(userId);
    if (!member) return refuse("not_found", `${userId} is not a member`);
    if (member.role === role)
      return refuse("bad_request", `${userId} is already ${role === "admin" ? "an admin" : "a member"}`);
    if (role === "member" && ![...chat.members.values()].some((m) => m.role === "admin" && m.userId !== userId)) {
      return refuse("bad_request", "a group keeps at least one admin");
    }
    const updated: MemberRow = { ...member, role };
    const m = this.chat.commit((tx, append) => {
      writeMember(tx, updated);
      return append(this.system({ event: role === "admin" ? "promoted" : "demoted", actor, userId }));
    });
    chat.members.set(userId, updated);
    return ok({ seq: m.seq });
  }

  private asAdmin(chatId: string, actor: string): Outcome<ChatState> {
    const access = this.chat.access(chatId, actor);
    if (!access.ok) return access;
    if (access.value.type !== "group") return refuse("bad_request", "direct chats have fixed members");
    if (access.value.members.get(actor)?.role !== "admin") return refuse("forbidden", "only admins may do this");
    return access;
  }

  private system(event: SystemEvent) {
    return { sender: event.actor, body: systemBody(event), kind: "system" as const };
  }

  /** Messages of `member`'s stretch before `seq` that may not have reached it (at most a history page). */
  private unsent(chat: ChatState, member: MemberRow, seq: number): Message[] {
    const page = readHistory(this.chat.db, chat.chatId, { before: seq, limit: MAX_HISTORY_LIMIT });
    const from = Math.max(this.chat.deliveredSeq() + 1, member.joinedSeq);
    return page.messages.filter((m) => m.seq >= from).reverse();
  }

  /** Retries the farewells that failed; answers whether some still failed. */
  async retryFarewells(chat: ChatState): Promise<boolean> {
    for (const [userId, messages] of [...this.farewells]) {
      if (!chat.members.has(userId)) await this.farewell(chat, userId, messages);
    }
    return this.farewellsPending;
  }

  /**
   * Tells the member who left that it left: the removal is the last message it gets from this
   * chat. A failed farewell is kept and retried by the chat's alarm, so the chat does not stay
   * in the former member's list.
   */
  private async farewell(chat: ChatState, userId: string, messages: Message[]): Promise<void> {
    const delivery = { ...deliveryOf(chat, messages), left: true };
    try {
      await this.chat.deliver(userId, delivery);
      this.farewells.delete(userId);
    } catch (err) {
      const where = { source: "ChatObject", chatId: chat.chatId, peerId: userId, during: "farewell" } as const;
      logEvent("warn", "delivery_failed", { ...where, ...errorFields(err) });
      if (chat.members.has(userId)) return;
      this.farewells.set(userId, messages);
      this.chat.scheduleRetry();
    }
  }
}
