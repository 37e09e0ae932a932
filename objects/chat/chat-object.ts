/**
 * One Durable Object per chat: it sequences the chat's messages (1, 2, 3... gapless), stores
 * history, members and receipts in its SQLite, and fans new messages out to the members' user
 * objects. Every call names the calling user; membership is checked on every call.
 */
import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import migrations from "../../migrations/chat/migrations";
import { type ChatType, directChatMembers, type Message, type ReceiptStatus, type ServerFrame } from "../../protocol";
import { NOT_A_MEMBER, type Outcome, ok, refuse } from "../outcome";
import { settingsOf } from "../settings";
import type { UserObject } from "../user/user-object";
import { ChatReceipts, type MessageInfo } from "./chat-receipts";
import { type Delivery, Fanout, mapLimit } from "./fanout";
import { GroupAdmin } from "./group-admin";
import {
  type ChatDb,
  type ChatTx,
  type Entry,
  findSend,
  type HistoryPage,
  type HistoryQuery,
  insertMessage,
  type LogStatements,
  lastSeqOf,
  logStatements,
  readHistory,
  readMessage,
} from "./log";
import type { MemberRow } from "./receipts";
import * as schema from "./schema";

export type { HistoryPage, HistoryQuery } from "./log";

export interface SendItem {
  clientMsgId: string;
  body: string;
  /** The sending device, when the send came over a socket. */
  deviceId?: string;
}

export interface Ack {
  seq: number;
  ts: number;
  duplicate: boolean;
}

export interface Watermarks {
  delivered: number;
  read: number;
}

export interface ChatView {
  chatId: string;
  type: ChatType;
  title: string | null;
  members: { userId: string; role: "admin" | "member" }[];
}

export interface ChatState {
  chatId: string;
  type: ChatType;
  title: string | null;
  lastSeq: number;
  fannedOutSeq: number;
  members: Map<string, MemberRow>;
}

const RETRY_DELAY_MS = 2_000;
const CHECK_DELAY_MS = 10_000;
const RELAY_CONCURRENCY = 32;

export class ChatObject extends DurableObject<Env> {
  readonly db: ChatDb;
  private readonly log: LogStatements;
  chat: ChatState | null = null;
  readonly fanout: Fanout;
  readonly settings = settingsOf(this.env);
  private schemaReady = false;
  private alarmSet = false;
  private faultEvery = 0;
  private deliveries = 0;
  /** Membership changes for groups: create, add, remove, leave, promote. */
  readonly groups = new GroupAdmin(this);
  /** Watermarks, receipt frames and message info. */
  readonly receipts = new ChatReceipts(this);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = drizzle(ctx.storage, { schema });
    this.log = logStatements(this.db);
    this.fanout = new Fanout(
      (userId, delivery) => this.deliver(userId, delivery),
      () => {
        const chat = this.chat as ChatState;
        return { chatId: chat.chatId, type: chat.type, title: chat.title, members: [...chat.members.keys()] };
      },
    );
    void ctx.blockConcurrencyWhile(async () => {
      // An object nobody created (an outsider probing ids) gets no tables: it stays empty.
      if (!this.hasTables()) return;
      await this.migrate();
      this.chat = this.load();
      if (this.chat) this.fanout.deliveredSeq = this.chat.fannedOutSeq;
    });
  }

  private hasTables(): boolean {
    return (
      this.ctx.storage.sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
        .toArray().length > 0
    );
  }

  private async migrate(): Promise<void> {
    await migrate(this.db, migrations);
    this.schemaReady = true;
  }

  /** Before a call that may create the chat: a member of a direct chat's pair creates its tables. */
  private async prepare(chatId: string, caller: string): Promise<void> {
    if (this.schemaReady || !directChatMembers(chatId)?.includes(caller)) return;
    await this.ctx.blockConcurrencyWhile(() => this.migrate());
  }

  /** Opens (creating on first use) the direct chat `chatId`, whose members its id names. */
  async openDirect(chatId: string, caller: string): Promise<Outcome<{ chatId: string }>> {
    await this.prepare(chatId, caller);
    const chat = this.access(chatId, caller);
    if (!chat.ok) return chat;
    for (const userId of chat.value.members.keys())
      void this.deliver(userId, this.deliveryOf(chat.value, [])).catch(() => {});
    return ok({ chatId });
  }

  async createGroup(
    chatId: string,
    creator: string,
    title: string,
    memberIds: string[],
  ): Promise<Outcome<{ chatId: string }>> {
    if (!this.schemaReady) await this.ctx.blockConcurrencyWhile(() => this.migrate());
    return this.groups.create(chatId, creator, title, memberIds);
  }

  addMember(chatId: string, actor: string, userId: string, role: "admin" | "member" = "member") {
    return this.groups.add(chatId, actor, userId, role);
  }

  removeMember(chatId: string, actor: string, userId: string) {
    return this.groups.remove(chatId, actor, userId);
  }

  setRole(chatId: string, actor: string, userId: string, role: "admin" | "member") {
    return this.groups.setRole(chatId, actor, userId, role);
  }

  async describe(chatId: string, caller: string): Promise<Outcome<ChatView>> {
    await this.prepare(chatId, caller);
    const chat = this.access(chatId, caller);
    if (!chat.ok) return chat;
    const { type, title, members } = chat.value;
    return ok({
      chatId,
      type,
      title,
      members: [...members.values()].map((m) => ({ userId: m.userId, role: m.role })),
    });
  }

  /**
   * Stores `items` in order, each under the next seq, in one transaction, and answers only
   * after it committed. A (sender, clientMsgId) seen before answers its first seq and stores
   * nothing. Fan-out starts after the commit.
   */
  async send(chatId: string, sender: string, items: SendItem[]): Promise<Outcome<Ack[]>> {
    await this.prepare(chatId, sender);
    const access = this.access(chatId, sender);
    if (!access.ok) return access;
    // Sends over a socket come through the sender's object, which delivers them to itself.
    const selfDelivered = new Set<number>();
    const resent: number[] = [];
    const acks = this.commit(
      (_tx, _append, tryAppend) =>
        items.map((item): Ack => {
          const m = tryAppend({ sender, body: item.body, kind: "text", clientMsgId: item.clientMsgId });
          if (!m) {
            const first = findSend(this.log, sender, item.clientMsgId) as { seq: number; ts: number };
            resent.push(first.seq);
            return { ...first, duplicate: true };
          }
          if (item.deviceId) selfDelivered.add(m.seq);
          return { seq: m.seq, ts: m.ts, duplicate: false };
        }),
      selfDelivered,
    );
    // A resend means its first ack may have been lost, and with it the sender object's copy.
    if (resent.length > 0) this.redeliver(chatId, sender, resent);
    return ok(acks);
  }

  async history(chatId: string, caller: string, query: HistoryQuery): Promise<Outcome<HistoryPage>> {
    await this.prepare(chatId, caller);
    const access = this.access(chatId, caller);
    if (!access.ok) return access;
    if (query.after !== undefined && query.before !== undefined) {
      return refuse("bad_request", "after and before cannot be used together");
    }
    return ok(readHistory(this.db, chatId, query));
  }

  /** A member's device acknowledged (`delivered`) or read messages up to `seq`. */
  markReceipt(chatId: string, userId: string, status: ReceiptStatus, seq: number): Promise<Outcome<Watermarks>> {
    return this.markReceipts(chatId, userId, { delivered: seq, read: status === "read" ? seq : 0 });
  }

  /** A member's receipts, merged by its user object: delivered and read up to the given seqs. */
  async markReceipts(chatId: string, userId: string, marks: Watermarks): Promise<Outcome<Watermarks>> {
    await this.prepare(chatId, userId);
    const access = this.access(chatId, userId);
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
    await this.prepare(chatId, userId);
    const access = this.access(chatId, userId);
    if (!access.ok) return access;
    const frame: ServerFrame = { type: "typing", chatId, userId, on };
    const others = [...access.value.members.keys()].filter((u) => u !== userId);
    await this.pushTo(others, [frame]);
    return ok(null);
  }

  private redeliver(chatId: string, sender: string, seqs: number[]): void {
    const messages = seqs
      .sort((a, b) => a - b)
      .map((seq) => readMessage(this.db, chatId, seq))
      .filter((m): m is Message => m !== null);
    void this.fanout.deliverTo([sender], messages);
  }

  /** Test-only (`FAULT_INJECTION` = "true"): make every `n`th delivery call fail; 0 turns it off. */
  setFaultRate(n: number): boolean {
    if (this.env.FAULT_INJECTION !== "true") return false;
    this.faultEvery = n;
    this.deliveries = 0;
    return true;
  }

  /** Retries failed deliveries, and after a restart re-announces the newest message to all. */
  override async alarm(): Promise<void> {
    this.alarmSet = false;
    const chat = this.chat;
    if (!chat) return;
    await this.fanout.idle();
    if (await this.groups.retryFarewells(chat)) this.scheduleRetry();
    const latest = readMessage(this.db, chat.chatId, chat.lastSeq);
    if (!latest) return;
    const targets = this.fanout.deliveredSeq < chat.lastSeq ? [...chat.members.keys()] : [...this.fanout.failed];
    if (targets.length > 0) await this.fanout.deliverTo(targets, [latest]);
    if (this.fanout.failed.size > 0) {
      this.scheduleRetry();
      return;
    }
    this.fanout.deliveredSeq = Math.max(this.fanout.deliveredSeq, latest.seq);
    if (chat.fannedOutSeq < latest.seq) {
      chat.fannedOutSeq = latest.seq;
      this.db.update(schema.chatInfo).set({ fannedOutSeq: latest.seq }).run();
    }
  }

  /**
   * Appends messages in one synchronous transaction, then (after the commit) updates the
   * in-memory state and starts the fan-out. `write` gets `append`, which assigns the next seq,
   * and `tryAppend`, which answers null for a text entry already stored.
   */
  commit<T>(
    write: (tx: ChatTx, append: (entry: Entry) => Message, tryAppend: (entry: Entry) => Message | null) => T,
    selfDelivered: ReadonlySet<number> = new Set(),
  ): T {
    const chat = this.chat as ChatState;
    const ts = Date.now();
    const fresh: Message[] = [];
    const result = this.transaction((tx) => {
      let seq = chat.lastSeq;
      // Null when a text entry's (sender, clientMsgId) is already stored: no seq is used.
      const tryAppend = (entry: Entry) => {
        const m = insertMessage(this.log, chat.chatId, seq + 1, ts, entry);
        if (m) {
          seq = m.seq;
          fresh.push(m);
        }
        return m;
      };
      return write(tx, (entry) => tryAppend(entry) as Message, tryAppend);
    });
    const last = fresh.at(-1);
    if (last) {
      chat.lastSeq = last.seq;
      for (const m of fresh) if (m.kind === "text") this.receipts.noteSent(m.sender, m.seq);
      this.scheduleCheck(CHECK_DELAY_MS);
      this.fanout.enqueue(fresh, selfDelivered);
    }
    return result;
  }

  /** Runs `write` in one synchronous transaction (no `await` inside). */
  transaction<T>(write: (tx: ChatTx) => T): T {
    return this.ctx.storage.transactionSync(() => write(this.db));
  }

  /** The chat as `caller` may see it: a refusal when it does not exist or the caller is not in it. */
  access(chatId: string, caller: string): Outcome<ChatState> {
    if (!this.chat) {
      const pair = directChatMembers(chatId);
      if (!pair?.includes(caller) || !this.schemaReady) return NOT_A_MEMBER;
      this.chat = this.createDirect(chatId, pair);
    }
    if (this.chat.chatId !== chatId) return refuse("internal", "chat id does not match this object");
    if (!this.chat.members.has(caller)) return NOT_A_MEMBER;
    return ok(this.chat);
  }

  deliveryOf(chat: ChatState, messages: Message[]): Delivery {
    return { chatId: chat.chatId, type: chat.type, title: chat.title, messages };
  }

  user(userId: string): DurableObjectStub<UserObject> {
    return this.env.USER.get(this.env.USER.idFromName(userId));
  }

  async pushTo(userIds: string[], frames: ServerFrame[]): Promise<void> {
    await mapLimit(userIds, RELAY_CONCURRENCY, async (userId) => {
      try {
        await this.user(userId).push(frames);
      } catch (err) {
        console.warn(`chat ${this.chat?.chatId}: push to ${userId} failed`, String(err));
      }
    });
  }

  private createDirect(chatId: string, pair: [string, string]): ChatState {
    const now = Date.now();
    this.transaction((tx) => {
      tx.insert(schema.chatInfo).values({ id: 1, chatId, type: "direct", title: null, createdAt: now }).run();
      for (const userId of new Set(pair)) {
        tx.insert(schema.members).values({ userId, role: "member", joinedSeq: 0 }).run();
      }
    });
    return this.load() as ChatState;
  }

  private load(): ChatState | null {
    const info = this.db.select().from(schema.chatInfo).get();
    if (!info) return null;
    return {
      chatId: info.chatId,
      type: info.type,
      title: info.title,
      lastSeq: lastSeqOf(this.db),
      fannedOutSeq: info.fannedOutSeq,
      members: new Map(
        this.db
          .select()
          .from(schema.members)
          .all()
          .map((m) => [m.userId, m]),
      ),
    };
  }

  deliver(userId: string, delivery: Delivery): Promise<void> {
    if (this.faultEvery > 0 && ++this.deliveries % this.faultEvery === 0) {
      return Promise.reject(new Error("injected fan-out fault"));
    }
    return this.user(userId).deliver(userId, delivery);
  }

  /** Has the alarm retry failed deliveries soon. */
  scheduleRetry(): void {
    this.scheduleCheck(RETRY_DELAY_MS);
  }

  private scheduleCheck(delayMs: number): void {
    if (this.alarmSet) return;
    this.alarmSet = true;
    void this.ctx.storage.setAlarm(Date.now() + delayMs);
  }
}
