/**
 * What crosses between the Worker, the user objects and the chat objects: the arguments and
 * answers of their RPC methods. Types only; each object's public methods are its RPC API.
 */
import type { ChatDetails, ChatType, Message, MessageReceipts, SendableKind, ServerFrame } from "../protocol";

export type { ChatSummary, HistoryPage, HistoryQuery } from "../protocol";
/** A chat as its members see it (`GET /v1/chats/:chatId`). */
export type ChatView = ChatDetails;
/** Message info: who holds and who has read one message. */
export type MessageInfo = MessageReceipts;

export type { Outcome, Refusal } from "./outcome";

/** One message to store, as the sender's object or the HTTP route hands it to the chat. */
export interface SendItem {
  clientMsgId: string;
  body: string;
  /** Default `text`; an edit, delete or reaction names its `target`, a reply its `replyTo`. */
  kind?: SendableKind;
  target?: number;
  replyTo?: number;
  /** The upload an `attachment` message sends. */
  attachment?: { id: string };
  /** The sending device, when the send came over a socket: its user object takes its own copy from the ack. */
  deviceId?: string;
}

/** The chat's answer to one `SendItem`, given only after the message is committed. */
export interface Ack {
  seq: number;
  ts: number;
  /** The (sender, clientMsgId) was stored before: seq and ts are those of the first store. */
  duplicate: boolean;
  /** The message as stored. */
  message: Message;
}

/** A member's receipts in a chat: delivered up to and read up to these seqs. */
export interface Watermarks {
  delivered: number;
  read: number;
}

/** Newly stored messages of a chat, from the chat object to a member's user object. */
export interface Delivery {
  chatId: string;
  type: ChatType;
  title: string | null;
  messages: Message[];
  /** The recipient is no longer a member: these are the last messages it gets from this chat. */
  left?: boolean;
  /**
   * To a member parked with push subscriptions: the newest message of each other sender it has
   * not been told of, for a push only (its devices are not connected; its inbox learns the chat's
   * end when it resumes).
   */
  notice?: boolean;
}

/** A member's object's answer to a delivery. */
export interface DeliveryAnswer {
  /**
   * Set when no device of the member is connected: the object noted that the chat has news, and
   * the chat delivers nothing more to it until it resumes. The stamp orders park and resume.
   */
  parked?: number;
  /** With `parked`: the member has push subscriptions, so the chat tells it of new messages now and then. */
  push?: boolean;
  /** The member's `delivered` receipts for this chat that were waiting to go: they ride on the answer. */
  marks?: Watermarks;
}

/** The outcome of one member's delivery: its answer, or why the call failed. */
export interface DeliveryResult {
  userId: string;
  answer?: DeliveryAnswer;
  /** The error's name, when the delivery failed. */
  error?: string;
}

/** A member coming back online in a chat that parked it: where the chat's log stands now. */
export interface ResumeAnswer {
  lastSeq: number;
  /** The member's unread count after the read mark it gave (or the chat's, if later). */
  unread: number;
  /** The ticks of the member's own messages: the others' lowest watermarks (the peer's in a direct chat). */
  receipts: Watermarks;
}

export type PresenceFrame = Extract<ServerFrame, { type: "presence" }>;
