/**
 * One Durable Object per chat: it sequences the chat's messages (1, 2, 3... gapless), stores
 * history and receipts in its SQLite, and fans new messages out to the members' user objects.
 * Every call names the calling user, and membership is checked on every call.
 */
import { DurableObject } from "cloudflare:workers";
import { and, asc, desc, eq, gt, lt } from "drizzle-orm";
import { type DrizzleSqliteDODatabase, drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import migrations from "../../migrations/chat/migrations";
import {
  type ChatType,
  chatTypeOf,
  DEFAULT_HISTORY_LIMIT,
  directChatMembers,
  MAX_HISTORY_LIMIT,
  type Message,
} from "../../protocol";
import { NOT_A_MEMBER, type Outcome, ok, refuse } from "../outcome";
import { type Delivery, Fanout } from "./fanout";
import * as schema from "./schema";

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

export interface HistoryQuery {
  after?: number;
  before?: number;
  limit?: number;
}

export interface HistoryPage {
  messages: Message[];
  more: boolean;
}

export interface ChatView {
  chatId: string;
  type: ChatType;
  title: string | null;
  members: { userId: string; role: "admin" | "member" }[];
}

type MemberRow = typeof schema.members.$inferSelect;

interface ChatState {
  chatId: string;
  type: ChatType;
  title: string | null;
  lastSeq: number;
  fannedOutSeq: number;
  members: Map<string, MemberRow>;
}

const RETRY_DELAY_MS = 2_000;
const CHECK_DELAY_MS = 10_000;

export class ChatObject extends DurableObject<Env> {
  private readonly db: DrizzleSqliteDODatabase<typeof schema>;
  private chat: ChatState | null = null;
  private alarmSet = false;
  private readonly fanout: Fanout;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = drizzle(ctx.storage, { schema });
    this.fanout = new Fanout(
      (userId, delivery) => this.deliver(userId, delivery),
      () => {
        const chat = this.chat as ChatState;
        return { chatId: chat.chatId, type: chat.type, title: chat.title, members: [...chat.members.keys()] };
      },
    );
    void ctx.blockConcurrencyWhile(async () => {
      await migrate(this.db, migrations);
      this.chat = this.load();
      if (this.chat) this.fanout.deliveredSeq = this.chat.fannedOutSeq;
    });
  }

  /** Opens (creating on first use) the direct chat `chatId`, whose members its id names. */
  openDirect(chatId: string, caller: string): Outcome<{ chatId: string }> {
    const chat = this.access(chatId, caller);
    if (!chat.ok) return chat;
    void this.deliver(caller, this.deliveryOf(chat.value, [])).catch(() => {});
    return ok({ chatId });
  }

  describe(chatId: string, caller: string): Outcome<ChatView> {
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
  send(chatId: string, sender: string, items: SendItem[]): Outcome<Ack[]> {
    const access = this.access(chatId, sender);
    if (!access.ok) return access;
    const chat = access.value;
    const ts = Date.now();
    const fresh: Message[] = [];
    const origins = new Map<number, string>();
    const acks = this.db.transaction((tx) => {
      let seq = chat.lastSeq;
      return items.map((item): Ack => {
        const first = tx
          .select({ seq: schema.messages.seq, ts: schema.messages.ts })
          .from(schema.messages)
          .where(and(eq(schema.messages.sender, sender), eq(schema.messages.clientMsgId, item.clientMsgId)))
          .get();
        if (first) return { ...first, duplicate: true };
        seq += 1;
        const message: Message = {
          chatId,
          seq,
          sender,
          clientMsgId: item.clientMsgId,
          body: item.body,
          ts,
          kind: "text",
        };
        tx.insert(schema.messages)
          .values({ seq, sender, clientMsgId: item.clientMsgId, body: item.body, ts, kind: "text" })
          .run();
        fresh.push(message);
        if (item.deviceId) origins.set(seq, item.deviceId);
        return { seq, ts, duplicate: false };
      });
    });
    const last = fresh.at(-1);
    if (last) {
      chat.lastSeq = last.seq;
      this.scheduleCheck(CHECK_DELAY_MS);
      this.fanout.enqueue(fresh, origins);
    }
    return ok(acks);
  }

  history(chatId: string, caller: string, query: HistoryQuery): Outcome<HistoryPage> {
    const access = this.access(chatId, caller);
    if (!access.ok) return access;
    if (query.after !== undefined && query.before !== undefined) {
      return refuse("bad_request", "after and before cannot be used together");
    }
    const limit = Math.min(Math.max(1, query.limit ?? DEFAULT_HISTORY_LIMIT), MAX_HISTORY_LIMIT);
    const m = schema.messages;
    const rows =
      query.before !== undefined
        ? this.db
            .select()
            .from(m)
            .where(lt(m.seq, query.before))
            .orderBy(desc(m.seq))
            .limit(limit + 1)
            .all()
        : this.db
            .select()
            .from(m)
            .where(gt(m.seq, query.after ?? 0))
            .orderBy(asc(m.seq))
            .limit(limit + 1)
            .all();
    const more = rows.length > limit;
    return ok({ messages: rows.slice(0, limit).map((r) => ({ chatId, ...r })), more });
  }

  /** Retries failed deliveries, and after a restart re-announces the newest message to all. */
  override async alarm(): Promise<void> {
    this.alarmSet = false;
    const chat = this.chat;
    if (!chat) return;
    await this.fanout.idle();
    const latest = this.latestMessage();
    if (!latest) return;
    const targets = this.fanout.deliveredSeq < chat.lastSeq ? [...chat.members.keys()] : [...this.fanout.failed];
    if (targets.length > 0) await this.fanout.deliverTo(targets, [latest]);
    if (this.fanout.failed.size > 0) {
      this.scheduleCheck(RETRY_DELAY_MS);
      return;
    }
    this.fanout.deliveredSeq = Math.max(this.fanout.deliveredSeq, latest.seq);
    if (chat.fannedOutSeq < latest.seq) {
      chat.fannedOutSeq = latest.seq;
      this.db.update(schema.chatInfo).set({ fannedOutSeq: latest.seq }).run();
    }
  }

  /** The chat as `caller` may see it: a refusal when it does not exist or the caller is not in it. */
  private access(chatId: string, caller: string): Outcome<ChatState> {
    if (!this.chat) {
      const pair = directChatMembers(chatId);
      if (!pair?.includes(caller)) return NOT_A_MEMBER;
      this.chat = this.createDirect(chatId, pair);
    }
    if (this.chat.chatId !== chatId) return refuse("internal", "chat id does not match this object");
    if (!this.chat.members.has(caller)) return NOT_A_MEMBER;
    return ok(this.chat);
  }

  private createDirect(chatId: string, pair: [string, string]): ChatState {
    const now = Date.now();
    this.db.transaction((tx) => {
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
    const last = this.db
      .select({ seq: schema.messages.seq })
      .from(schema.messages)
      .orderBy(desc(schema.messages.seq))
      .limit(1)
      .get();
    const members = new Map(
      this.db
        .select()
        .from(schema.members)
        .all()
        .map((m) => [m.userId, m]),
    );
    return {
      chatId: info.chatId,
      type: info.type ?? chatTypeOf(info.chatId),
      title: info.title,
      lastSeq: last?.seq ?? 0,
      fannedOutSeq: info.fannedOutSeq,
      members,
    };
  }

  private latestMessage(): Message | null {
    const chat = this.chat;
    if (!chat || chat.lastSeq === 0) return null;
    const row = this.db.select().from(schema.messages).where(eq(schema.messages.seq, chat.lastSeq)).get();
    return row ? { chatId: chat.chatId, ...row } : null;
  }

  private deliveryOf(chat: ChatState, messages: Message[]): Delivery {
    return { chatId: chat.chatId, type: chat.type, title: chat.title, messages };
  }

  private deliver(userId: string, delivery: Delivery): Promise<void> {
    return this.env.USER.get(this.env.USER.idFromName(userId)).deliver(userId, delivery);
  }

  private scheduleCheck(delayMs: number): void {
    if (this.alarmSet) return;
    this.alarmSet = true;
    void this.ctx.storage.setAlarm(Date.now() + delayMs);
  }
}
