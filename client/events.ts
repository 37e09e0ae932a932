/**
 * The SDK's events and a small typed emitter. Listeners run synchronously, in the order they
 * were added; one that throws does not stop the others (the error is reported on `error`).
 */
import type { ErrorCode } from "../protocol/errors";
import type { Message, ReceiptStatus } from "../protocol/frames";
import type { HiddenRow } from "./hidden-rows";

export type TickStatus = "sent" | "delivered" | "read";
export type ConnectionState = "connecting" | "open" | "closed";

export interface TickEvent {
  chatId: string;
  seq: number;
  clientMsgId: string;
  status: TickStatus;
}

/** Every own message of a chat up to `delivered` is delivered, up to `read` read (0: none). */
export interface Watermarks {
  delivered: number;
  read: number;
}

export interface StateEvent {
  state: ConnectionState;
  /** When closed and a reconnect is scheduled: in how many ms. */
  retryInMs?: number;
  /** Why the socket closed, when known (e.g. "replaced" by another connection of this device). */
  reason?: string;
}

export interface ClientErrorEvent {
  code: ErrorCode | "connection" | "listener";
  message: string;
  chatId?: string;
  clientMsgId?: string;
}

export interface ChatEvents {
  /** A message, delivered once, in seq order per chat (own messages included, after their ack). */
  message: Message;
  /**
   * A run of seqs `seq..through` this user may not see (a group's history from before it
   * joined), delivered in seq order like messages; apply it to the chat's `MessageView`.
   */
  hidden: HiddenRow;
  /** An own message's tick moved forward: sent → delivered → read. */
  tick: TickEvent;
  /**
   * A chat's watermarks moved forward (a `receipt` frame, or the `receipts` of `ready` or
   * `listChats` after a reload): what `tickOf` answers for any own message changed.
   */
  watermarks: { chatId: string } & Watermarks;
  /** A `receipt` frame as is: every own message up to seq reached status (watermark). */
  receipt: { chatId: string; seq: number; status: ReceiptStatus; by?: string };
  /** Another device of this user read the chat up to seq. */
  read: { chatId: string; seq: number };
  presence: { userId: string; online: boolean; lastSeen: number | null };
  typing: { chatId: string; userId: string; on: boolean };
  state: StateEvent;
  error: ClientErrorEvent;
}

type Listener<T> = (event: T) => void;

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener; answers a function that removes it. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    this.listeners.get(type)?.delete(listener as Listener<never>);
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const set = this.listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(event);
      } catch (err) {
        this.onListenerError(err, String(type));
      }
    }
  }

  /** Called when a listener throws; the chat client reports it as an `error` event. */
  protected onListenerError(err: unknown, type: string): void {
    console.error(`edge-chat: a "${type}" listener threw`, err);
  }
}
