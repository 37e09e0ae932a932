/**
 * One Durable Object per chat: it sequences the chat's messages (1, 2, 3... gapless), stores
 * history, members and receipts in its SQLite, and fans new messages out to the members' user
 * objects. Every call names the calling user; membership is checked on every call.
 * Its public methods are its RPC API (argument and answer types in `../contracts`), each a
 * membership check (`./chat-store`) and a call into a helper; the group and receipt helpers
 * reach it only through the narrow `ChatCore` it builds for them.
 */
import { DurableObject } from "cloudflare:workers";
import {
  type AttachmentInfo,
  type HistoryMode,
  type Message,
  READABLE_KINDS,
  type Role,
  type ServerFrame,
} from "../../protocol";
import type {
  Ack,
  ChatView,
  Delivery,
  DeliveryAnswer,
  HistoryPage,
  HistoryQuery,
  MessageInfo,
  ResumeAnswer,
  SendItem,
  Watermarks,
} from "../contracts";
import { errorFields, logEvent } from "../log-event";
import { type Outcome, ok, refuse } from "../outcome";
import { settingsOf } from "../settings";
import { spread } from "../timer-spread";
import { type ChangeStatements, changeStatements } from "./changes";
import { ChatAttachments, type StoredAttachment } from "./chat-attachments";
import type { ChatCore, ChatState } from "./chat-core";
import { ChatReceipts } from "./chat-receipts";
import { ChatSends } from "./chat-sends";
import { ChatStore } from "./chat-store";
import { deliveryOf, Fanout } from "./fanout";
import { GroupAdmin } from "./group-admin";
import { type ChatDb, type ChatTx, type LogStatements, readMessage } from "./log";
import { blocks, loadChat, viewOf, writeBlocking, writeReadReceipts } from "./membership";
import { Notices } from "./notices";
import { Outbound } from "./outbound";
import { ParkedMembers } from "./parked-members";
import type { MemberRow } from "./receipts";
import { readSentBy, type SentPage } from "./sent-by";
import { canSee, visibleHistory } from "./visibility";

const RETRY_DELAY_MS = 2_000;
const CHECK_DELAY_MS = 10_000;

export class ChatObject extends DurableObject<Env> {
  /** The deep health check's round trip (worker/health.ts): answers without touching state. */
  ping(): string {
    return "pong";
  }

  private readonly db: ChatDb;
  private readonly log: LogStatements;
  private readonly changes: ChangeStatements;
  private readonly attachments: ChatAttachments;
  private readonly sends: ChatSends;
  /** Tells parked members with push subscriptions of new messages, at most every few seconds. */
  private readonly notices: Notices;
  /** Its SQLite, the chat as loaded, membership checks and commits. */
  private readonly store: ChatStore;
  private readonly settings = settingsOf(this.env);
  /**
   * Drawn once per instance: chats woken by one burst then check at different moments. Drawn per
   * commit, the earliest of many draws would win and bring them back together.
   */
  private readonly checkDelay = spread(CHECK_DELAY_MS, 0.75);
  /** When the alarm is set for (null: not set, as far as this instance knows). */
  private alarmAt: number | null = null;
  /** Every call out of this object (tests swap its deliveries from inside). */
  private readonly outbound = new Outbound(this.env);
  private readonly fanout: Fanout;
  /** Members with no device connected: skipped by the fan-out until they resume. */
  private readonly parked: ParkedMembers;
  private readonly core: ChatCore;
  /** Membership changes for groups: create, add, remove, leave, promote. */
  private readonly groups: GroupAdmin;
  /** Watermarks, receipt frames and message info. */
  private readonly receipts: ChatReceipts;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new ChatStore(ctx, (chat, fresh, ownCopies) => this.stored(chat, fresh, ownCopies));
    this.db = this.store.db;
    this.log = this.store.log;
    this.changes = changeStatements(this.db);
    this.attachments = new ChatAttachments(this.db, env, (time) => this.wakeAt(time));
    this.parked = new ParkedMembers(this.db);
    this.notices = new Notices({
      db: this.db,
      parked: this.parked,
      deliverMany: (userIds, delivery) => this.outbound.deliverMany(userIds, delivery),
      wakeAt: (time) => this.wakeAt(time),
    });
    this.sends = new ChatSends({
      db: this.db,
      log: this.log,
      changes: this.changes,
      settings: this.settings,
      attachments: this.attachments,
      commit: (write, ownCopies) => this.store.commit(write, ownCopies),
      redeliver: (userIds, messages) => void this.fanout.deliverTo(userIds, messages),
      rideAlong: () => this.receipts.writeWaiting(),
    });
    this.fanout = new Fanout(
      (userIds, delivery) => this.outbound.deliverMany(userIds, delivery),
      (userId, answer, lastSeq) => this.answered(userId, answer, lastSeq),
      () => {
        const chat = this.chat as ChatState;
        const members = this.parked.reachable(chat.members.keys());
        return { ...deliveryOf(chat, []), members, joinedSeq: (u) => chat.members.get(u)?.joinedSeq ?? 0 };
      },
    );
    this.core = this.coreForHelpers();
    this.groups = new GroupAdmin(this.core);
    this.receipts = new ChatReceipts(this.core);
    void ctx.blockConcurrencyWhile(async () => {
      // An object nobody created (an outsider probing ids) gets no tables: it stays empty.
      if (!this.store.hasTables()) return;
      await this.store.migrate();
      this.store.chat = loadChat(this.db);
      if (this.chat) this.fanout.deliveredSeq = this.chat.fannedOutSeq;
      this.parked.load();
      this.alarmAt = await ctx.storage.getAlarm();
      // Notices that were due when the object stopped go out now.
      if (this.chat && this.parked.behind(this.chat.lastSeq).length > 0) this.wakeAt(Date.now());
    });
  }

  /** Opens (creating on first use) the direct chat `chatId`, whose members its id names. */
  async openDirect(chatId: string, caller: string): Promise<Outcome<{ chatId: string }>> {
    const chat = await this.store.enter(chatId, caller);
    if (!chat.ok) return chat;
    for (const userId of chat.value.members.keys())
      void this.deliver(userId, deliveryOf(chat.value, [])).catch(() => {});
    return ok({ chatId });
  }

  /** Creates the group `chatId` (a fresh id) with `creator` as its admin. */
  async createGroup(
    chatId: string,
    creator: string,
    title: string,
    memberIds: string[],
    history: HistoryMode = "joined",
  ): Promise<Outcome<{ chatId: string }>> {
    await this.store.ensureSchema();
    return this.groups.create(chatId, creator, title, memberIds, history);
  }

  /** An admin adds `userId`; answers the seq of the `added` system message. */
  addMember(chatId: string, actor: string, userId: string, role: Role = "member"): Outcome<{ seq: number }> {
    // A former member parked before it left must get the `added` delivery.
    this.parked.forget(userId);
    return this.groups.add(chatId, actor, userId, role);
  }

  /** An admin removes `userId`, or a member leaves (`actor` = `userId`). */
  removeMember(chatId: string, actor: string, userId: string): Promise<Outcome<{ seq: number }>> {
    return this.groups.remove(chatId, actor, userId);
  }

  /** An admin promotes or demotes `userId`. */
  setRole(chatId: string, actor: string, userId: string, role: Role): Outcome<{ seq: number }> {
    return this.groups.setRole(chatId, actor, userId, role);
  }

  /** The chat's type, title and members, for a member. */
  async describe(chatId: string, caller: string): Promise<Outcome<ChatView>> {
    const chat = await this.store.enter(chatId, caller);
    if (!chat.ok) return chat;
    return ok(viewOf(chat.value));
  }

  /**
   * Stores `items` in order, each under the next seq, in one transaction, and answers only
   * after it committed: each ack is built from what the transaction stored. A (sender,
   * clientMsgId) seen before answers its first seq and ts and stores nothing. An item the rules
   * refuse (see `./changes`) is answered with its refusal and stores nothing; the others are
   * stored. Fan-out starts after the commit.
   */
  async send(chatId: string, sender: string, items: SendItem[]): Promise<Outcome<Outcome<Ack>[]>> {
    const access = await this.store.enter(chatId, sender);
    if (!access.ok) return access;
    if (blocks(access.value, sender)) return refuse("forbidden", "this user does not take your messages");
    return ok(await this.sends.store(access.value, sender, items));
  }

  /** A member's read receipts setting (direct chats only: groups are not affected). */
  async setReadReceipts(chatId: string, userId: string, on: boolean): Promise<Outcome<null>> {
    const access = await this.store.enter(chatId, userId);
    if (!access.ok) return access;
    if (access.value.type !== "direct") return ok(null);
    const member = access.value.members.get(userId) as MemberRow;
    member.readReceipts = on;
    this.transaction((tx) => writeReadReceipts(tx, member));
    return ok(null);
  }

  /** In a direct chat, `blocker` blocks (or unblocks) the other member; its object keeps the list. */
  async setBlocking(chatId: string, blocker: string, blocking: boolean): Promise<Outcome<null>> {
    const access = await this.store.enter(chatId, blocker);
    if (!access.ok) return access;
    if (access.value.type !== "direct") return refuse("bad_request", "only a direct chat has a block");
    const member = access.value.members.get(blocker) as MemberRow;
    member.blocking = blocking;
    this.transaction((tx) => writeBlocking(tx, member));
    return ok(null);
  }

  /** A member is about to upload a file to this chat: its id and R2 key, the upload recorded. */
  async reserveAttachment(
    chatId: string,
    caller: string,
    file: Omit<AttachmentInfo, "id">,
  ): Promise<Outcome<StoredAttachment>> {
    const access = await this.store.enter(chatId, caller);
    return access.ok ? ok(this.attachments.reserve(chatId, caller, file)) : access;
  }

  /** The Worker's word on an upload it streamed to R2: stored, or failed. */
  async attachmentUploaded(chatId: string, caller: string, id: string, stored: boolean): Promise<Outcome<null>> {
    const access = this.access(chatId, caller);
    return access.ok ? this.attachments.finished(chatId, caller, id, stored) : access;
  }

  /** Where a file's bytes are, for a member allowed to download it. */
  attachmentFor(chatId: string, caller: string, id: string): Outcome<StoredAttachment> {
    const access = this.access(chatId, caller);
    return access.ok
      ? this.attachments.find(chatId, caller, id, (seq) => canSee(this.db, access.value, caller, seq))
      : access;
  }

  /** The messages `userId` sent here after `afterSeq`, for its export: its own data, whether or not it is still a member. */
  sentBy(chatId: string, userId: string, afterSeq: number, limit: number): Outcome<SentPage> {
    if (!this.chat) return ok({ messages: [], more: false });
    if (this.chat.chatId !== chatId) return refuse("internal", "chat id does not match this object");
    return ok(readSentBy(this.db, userId, afterSeq, limit));
  }

  /** A page of the log, after or before a seq. */
  async history(chatId: string, caller: string, query: HistoryQuery): Promise<Outcome<HistoryPage>> {
    const access = await this.store.enter(chatId, caller);
    if (!access.ok) return access;
    if (query.after !== undefined && query.before !== undefined) {
      return refuse("bad_request", "after and before cannot be used together");
    }
    return ok(visibleHistory(this.db, access.value, caller, query));
  }

  /** A member's receipts, merged by its user object: delivered and read up to the given seqs. */
  async markReceipts(chatId: string, userId: string, marks: Watermarks): Promise<Outcome<Watermarks>> {
    const access = await this.store.enter(chatId, userId);
    if (!access.ok) return access;
    const member = access.value.members.get(userId) as MemberRow;
    return ok(await this.receipts.mark(access.value, member, marks));
  }

  /** Message info: who holds and who has read `seq`; for its sender, and in groups for admins. */
  messageReceipts(chatId: string, caller: string, seq: number): Outcome<MessageInfo> {
    const access = this.access(chatId, caller);
    return access.ok ? this.receipts.info(access.value, caller, seq) : access;
  }

  /** Relays a typing indicator to the other members' devices; nothing is stored. */
  async typing(chatId: string, userId: string, on: boolean): Promise<Outcome<null>> {
    const access = await this.store.enter(chatId, userId);
    if (!access.ok) return access;
    const frame: ServerFrame = { type: "typing", chatId, userId, on };
    // A block silences typing both ways.
    if (access.value.type === "direct" && [...access.value.members.values()].some((m) => m.blocking)) return ok(null);
    const others = this.parked.reachable(access.value.members.keys()).filter((u) => u !== userId);
    await this.pushTo(others, [frame]);
    return ok(null);
  }

  /**
   * A device of `userId` is connecting: deliveries to it start again if the member was parked.
   * Answers where the log stands and the member's unread count after `readSeq` (its object's
   * read mark), so that the user's `ready` names this chat if it has news.
   */
  async resume(chatId: string, userId: string, stamp: number, readSeq = 0): Promise<Outcome<ResumeAnswer>> {
    const access = await this.store.enter(chatId, userId);
    if (!access.ok) return access;
    this.parked.resume(userId, stamp);
    return ok(this.receipts.standing(access.value, userId, readSeq));
  }

  /** Where the log stands and the member's unread count, as `resume` answers; parking does not change. */
  async lastSeqFor(chatId: string, userId: string, readSeq = 0): Promise<Outcome<ResumeAnswer>> {
    const access = await this.store.enter(chatId, userId);
    return access.ok ? ok(this.receipts.standing(access.value, userId, readSeq)) : access;
  }

  /** Retries failed deliveries, and after a restart re-announces the newest message to all. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const chat = this.chat;
    if (!chat) return;
    const nextSweep = await this.attachments.sweep(chat.chatId);
    if (nextSweep !== null) this.wakeAt(nextSweep);
    await this.notices.send(chat);
    await this.fanout.idle();
    if (await this.groups.retryFarewells(chat)) this.scheduleCheck(RETRY_DELAY_MS);
    const latest = readMessage(this.db, chat.chatId, chat.lastSeq);
    if (!latest) return;
    if (await this.fanout.retry(chat.members.keys(), latest)) this.store.fannedOut(latest.seq);
    else this.scheduleCheck(RETRY_DELAY_MS);
  }

  private coreForHelpers(): ChatCore {
    return {
      db: this.db,
      settings: this.settings,
      state: () => this.chat,
      access: (chatId, caller) => this.access(chatId, caller),
      create: (state, write) => this.store.create(state, write),
      commit: (write) => this.store.commit(write),
      transaction: (write) => this.transaction(write),
      fanoutIdle: () => this.fanout.idle(),
      deliveredSeq: () => this.fanout.deliveredSeq,
      forgetFailed: (userId) => this.fanout.failed.delete(userId),
      deliver: (userId, delivery) => this.deliver(userId, delivery),
      pushTo: (userIds, frames) => this.pushTo(userIds, frames),
      receiptsMayHaveMoved: () => this.receipts.schedule(),
      scheduleRetry: () => this.scheduleCheck(RETRY_DELAY_MS),
    };
  }

  /** After a commit: receipts, the fan-out and notices learn of what it stored. */
  private stored(chat: ChatState, fresh: Message[], ownCopies: ReadonlySet<number>): void {
    for (const m of fresh) if (READABLE_KINDS.has(m.kind)) this.receipts.noteSent(m.sender, m.seq);
    this.scheduleCheck(this.checkDelay);
    this.fanout.enqueue(fresh, ownCopies);
    if (fresh.some((m) => READABLE_KINDS.has(m.kind))) this.notices.due(chat);
  }

  private get chat(): ChatState | null {
    return this.store.chat;
  }

  private transaction<T>(write: (tx: ChatTx) => T): T {
    return this.store.transaction(write);
  }

  private access(chatId: string, caller: string): Outcome<ChatState> {
    return this.store.access(chatId, caller);
  }

  private deliver(userId: string, delivery: Delivery): Promise<DeliveryAnswer> {
    return this.outbound.deliver(userId, delivery);
  }

  /** A member's answer to a delivery: it parked, or it handed over receipts that were waiting. */
  private answered(userId: string, answer: DeliveryAnswer, lastSeq: number): void {
    if (answer.parked !== undefined) this.parked.park(userId, answer.parked, answer.push === true, lastSeq);
    const member = this.chat?.members.get(userId);
    if (!answer.marks || !this.chat || !member) return;
    this.receipts.mark(this.chat, member, answer.marks).catch((err) => {
      const where = { source: "ChatObject", chatId: this.chat?.chatId, userId, during: "receipts" } as const;
      logEvent("error", "unexpected_error", { ...where, ...errorFields(err) });
    });
  }

  private pushTo(userIds: string[], frames: ServerFrame[]): Promise<void> {
    return this.outbound.pushTo(this.chat?.chatId ?? "?", userIds, frames);
  }

  private scheduleCheck(delayMs: number): void {
    this.wakeAt(Date.now() + delayMs);
  }

  /** Has the alarm run at `time`, unless it is set to run sooner. */
  private wakeAt(time: number): void {
    if (this.alarmAt !== null && this.alarmAt <= time) return;
    this.alarmAt = time;
    void this.ctx.storage.setAlarm(time);
  }
}
