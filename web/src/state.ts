/** What the page knows about each chat: summary, the messages loaded so far, tick marks, typing. */
import type { ChatSummary, ChatType, Message } from "../../client";
import { systemText } from "./format";

export interface PendingSend {
  clientMsgId: string;
  body: string;
  ts: number;
  failed?: string;
}

export interface ChatItem {
  chatId: string;
  type: ChatType;
  title: string | null;
  lastSeq: number;
  readSeq: number;
  unread: number;
  /** Messages up to this seq are already counted in `unread`. */
  countedUpTo: number;
  preview: string;
  activity: number;
  members: string[] | null;
  messages: Map<number, Message>;
  /** The lowest seq loaded, for loading older history on scroll-up. */
  oldest: number | null;
  hasOlder: boolean;
  loaded: boolean;
  pending: Map<string, PendingSend>;
  /** Watermarks from receipts: own messages up to these seqs are delivered / read. */
  delivered: number;
  read: number;
  typing: Map<string, ReturnType<typeof setTimeout>>;
}

export function newChat(summary: ChatSummary): ChatItem {
  return {
    chatId: summary.chatId,
    type: summary.type,
    title: summary.title,
    lastSeq: summary.lastSeq,
    readSeq: summary.readSeq,
    unread: Math.max(0, summary.lastSeq - summary.readSeq),
    countedUpTo: summary.lastSeq,
    preview: "",
    activity: 0,
    members: null,
    messages: new Map(),
    oldest: null,
    hasOlder: true,
    loaded: false,
    pending: new Map(),
    delivered: 0,
    read: 0,
    typing: new Map(),
  };
}

export type TickState = "pending" | "failed" | "sent" | "delivered" | "read";

export function tickOf(chat: ChatItem, seq: number): TickState {
  if (seq <= chat.read) return "read";
  if (seq <= chat.delivered) return "delivered";
  return "sent";
}

/** Records a message in its chat; answers false when the page already had it. */
export function addMessage(chat: ChatItem, m: Message, me: string, counting: boolean): boolean {
  if (chat.messages.has(m.seq)) return false;
  chat.messages.set(m.seq, m);
  if (chat.oldest === null || m.seq < chat.oldest) chat.oldest = m.seq;
  if (m.seq >= chat.lastSeq) {
    chat.lastSeq = m.seq;
    const who = m.sender === me ? "You: " : chat.type === "group" ? `${m.sender}: ` : "";
    chat.preview = m.kind === "system" ? systemText(m.body, me) : `${who}${m.body}`;
    chat.activity = Math.max(chat.activity, m.ts);
  }
  if (counting && m.seq > chat.countedUpTo) {
    chat.countedUpTo = m.seq;
    if (m.sender !== me && m.kind === "text" && m.seq > chat.readSeq) chat.unread += 1;
  }
  return true;
}
