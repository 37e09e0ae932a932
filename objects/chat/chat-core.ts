/**
 * What the chat object's helpers (`GroupAdmin`, `ChatReceipts`) may use of it: its state, its
 * log and transactions, and its calls out. The chat object builds this; its own fields stay private.
 */
import type { HistoryMode, Message, ServerFrame } from "../../protocol";
import type { Delivery, DeliveryAnswer } from "../contracts";
import type { Outcome } from "../outcome";
import type { Settings } from "../settings";
import type { ChatDb, ChatTx, Entry } from "./log";
import type { MemberRow } from "./receipts";

/** A created chat as the object holds it in memory. */
export interface ChatState {
  chatId: string;
  type: "direct" | "group";
  title: string | null;
  /** Who sees what was said before joining (groups; a direct chat shows both members everything). */
  history: HistoryMode;
  lastSeq: number;
  fannedOutSeq: number;
  members: Map<string, MemberRow>;
}

/** Assigns the next seq to an entry, inside a commit. */
export type Append = (entry: Entry) => Message;

export interface ChatCore {
  readonly db: ChatDb;
  readonly settings: Settings;
  /** The chat, once created (null in an object nobody created). */
  state(): ChatState | null;
  /** The chat as `caller` may see it: the same refusal whether it does not exist or the caller is not in it. */
  access(chatId: string, caller: string): Outcome<ChatState>;
  /**
   * Makes `state` the chat and runs its first commit; if that throws, the object stays uncreated.
   */
  create<T>(state: ChatState, write: (tx: ChatTx, append: Append) => T): T;
  /** Appends messages in one synchronous transaction; fan-out starts after the commit. */
  commit<T>(write: (tx: ChatTx, append: Append) => T): T;
  /** Runs `write` in one synchronous transaction (no `await` inside). */
  transaction<T>(write: (tx: ChatTx) => T): T;
  /** Resolves when every message stored so far has been offered to every member. */
  fanoutIdle(): Promise<void>;
  /** The highest seq that reached every member. */
  deliveredSeq(): number;
  /** Stops retrying deliveries to `userId`; answers whether one had failed. */
  forgetFailed(userId: string): boolean;
  /** One delivery call to a user's object. */
  deliver(userId: string, delivery: Delivery): Promise<DeliveryAnswer>;
  /** Frames (receipts, typing) to the members' connected devices; failures are logged, not thrown. */
  pushTo(userIds: string[], frames: ServerFrame[]): Promise<void>;
  /** A group's receipt aggregate may have moved: receipts go out after their window. */
  receiptsMayHaveMoved(): void;
  /** Has the alarm retry failed deliveries soon. */
  scheduleRetry(): void;
}
