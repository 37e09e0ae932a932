/**
 * The chat object's storage and state: its SQLite (migrated before first use), the chat as
 * loaded into memory, the membership check every call makes, and commits that append to the log.
 */
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import migrations from "../../migrations/chat/migrations";
import { directChatMembers, type Message } from "../../protocol";
import { NOT_A_MEMBER, type Outcome, ok, refuse } from "../outcome";
import type { Append, ChatState } from "./chat-core";
import { type ChatDb, type ChatTx, type Entry, insertMessage, type LogStatements, logStatements } from "./log";
import { loadChat, writeDirectInfo } from "./membership";
import * as schema from "./schema";

/** What a commit hands on once it is durable: the messages it stored, in seq order. */
export type Stored = (chat: ChatState, fresh: Message[], ownCopies: ReadonlySet<number>) => void;

export class ChatStore {
  readonly db: ChatDb;
  readonly log: LogStatements;
  /** The chat, once created (null in an object nobody created). */
  chat: ChatState | null = null;
  private schemaReady = false;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly stored: Stored,
  ) {
    this.db = drizzle(ctx.storage, { schema });
    this.log = logStatements(this.db);
  }

  /** Whether this object was ever migrated: an object nobody created (an outsider probing ids) stays empty. */
  hasTables(): boolean {
    return (
      this.ctx.storage.sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
        .toArray().length > 0
    );
  }

  async migrate(): Promise<void> {
    await migrate(this.db, migrations);
    this.schemaReady = true;
  }

  /** Migrates now unless done: for a call that creates a group. */
  async ensureSchema(): Promise<void> {
    if (!this.schemaReady) await this.ctx.blockConcurrencyWhile(() => this.migrate());
  }

  /** Before a call that may create the chat: a member of a direct chat's pair creates its tables. */
  async prepare(chatId: string, caller: string): Promise<void> {
    if (this.schemaReady || !directChatMembers(chatId)?.includes(caller)) return;
    await this.ctx.blockConcurrencyWhile(() => this.migrate());
  }

  /** `prepare`, then `access`: the start of most calls. */
  async enter(chatId: string, caller: string): Promise<Outcome<ChatState>> {
    await this.prepare(chatId, caller);
    return this.access(chatId, caller);
  }

  /** The chat as `caller` may see it: the same refusal whether it does not exist or the caller is not in it. */
  access(chatId: string, caller: string): Outcome<ChatState> {
    if (!this.chat) {
      const pair = directChatMembers(chatId);
      if (!pair?.includes(caller) || !this.schemaReady) return NOT_A_MEMBER;
      this.transaction((tx) => writeDirectInfo(tx, chatId, pair, Date.now()));
      this.chat = loadChat(this.db) as ChatState;
    }
    if (this.chat.chatId !== chatId) return refuse("internal", "chat id does not match this object");
    if (!this.chat.members.has(caller)) return NOT_A_MEMBER;
    return ok(this.chat);
  }

  /** Every message up to `seq` reached every member's object: a restart need not announce it again. */
  fannedOut(seq: number): void {
    const chat = this.chat;
    if (!chat || chat.fannedOutSeq >= seq) return;
    chat.fannedOutSeq = seq;
    this.db.update(schema.chatInfo).set({ fannedOutSeq: seq }).run();
  }

  transaction<T>(write: (tx: ChatTx) => T): T {
    return this.ctx.storage.transactionSync(() => write(this.db));
  }

  /** Makes `state` the chat and runs its first commit; if that throws, the object stays uncreated. */
  create<T>(state: ChatState, write: (tx: ChatTx, append: Append) => T): T {
    this.chat = state;
    try {
      return this.commit(write);
    } catch (err) {
      this.chat = null;
      throw err;
    }
  }

  /**
   * Appends messages in one synchronous transaction, then (after the commit) updates the
   * in-memory state and hands the messages on. `write` gets `append`, which assigns the next
   * seq, and `tryAppend`, which answers null for a text entry already stored. `ownCopies`: seqs
   * whose sender's object takes its copy from the ack.
   */
  commit<T>(
    write: (tx: ChatTx, append: Append, tryAppend: (entry: Entry) => Message | null) => T,
    ownCopies: ReadonlySet<number> = new Set(),
  ): T {
    const chat = this.chat as ChatState;
    const ts = Date.now();
    const fresh: Message[] = [];
    const result = this.transaction((tx) => {
      let seq = chat.lastSeq;
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
      this.stored(chat, fresh, ownCopies);
    }
    return result;
  }
}
