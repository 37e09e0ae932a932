/**
 * What the page knows about each chat: summary, its log as a `MessageView` (edits, deletes and
 * reactions applied by the SDK's one set of rules, hidden runs joined), tick marks (the SDK's
 * watermarks), typing, and the unread count.
 */
import {
  type ChatSummary,
  type ChatType,
  type HiddenRow,
  isHidden,
  type LogRow,
  type Message,
  MessageView,
  type ViewRow,
} from "../../client";
import { deletedText, messageText, systemText } from "./format";

export interface PendingSend {
  clientMsgId: string;
  /** The text, or a file's caption. */
  body: string;
  ts: number;
  replyTo?: number;
  failed?: string;
  /** A file being sent: what the bubble says about it until the message is stored. */
  file?: { name: string; size: number; contentType: string };
  /** How much of the file went up, 0 to 1 (absent once it is up). */
  progress?: number;
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
  /** A delete of a message the page does not hold may have changed `unread`: ask the server. */
  recount: boolean;
  preview: string;
  activity: number;
  members: string[] | null;
  /** The group's admins (empty for a direct chat or before the members are loaded). */
  admins: ReadonlySet<string>;
  view: MessageView;
  /** The lowest seq loaded in order (quoted rows fetched on their own do not count), for loading older history. */
  oldest: number | null;
  hasOlder: boolean;
  loaded: boolean;
  pending: Map<string, PendingSend>;
  /** The SDK's watermarks: own messages up to these seqs are delivered / read. */
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
    unread: summary.unread,
    countedUpTo: summary.lastSeq,
    recount: false,
    preview: "",
    activity: 0,
    members: null,
    admins: new Set(),
    view: new MessageView(),
    oldest: null,
    hasOlder: true,
    loaded: false,
    pending: new Map(),
    delivered: summary.receipts.delivered,
    read: summary.receipts.read,
    typing: new Map(),
  };
}

export type TickState = "pending" | "failed" | "sent" | "delivered" | "read";

export function tickOf(chat: ChatItem, seq: number): TickState {
  if (seq <= chat.read) return "read";
  if (seq <= chat.delivered) return "delivered";
  return "sent";
}

/** A message people read (text or attachment), as opposed to a change of one or a system message. */
export function isReadable(m: Message): boolean {
  return m.kind === "text" || m.kind === "attachment";
}

/** Whether `m` counts as unread for `me` once it is after the read mark. */
function countsAsUnread(m: Message, me: string): boolean {
  return isReadable(m) && m.sender !== me && !m.deleted;
}

/** The newest seq the page holds of the chat's log, hidden runs included (0 when none). */
export function newestSeq(chat: ChatItem): number {
  return chat.view.lastSeq();
}

/** Applies a row of the log: a message (see `addMessage`) or a hidden run; false when already held. */
export function addRow(chat: ChatItem, row: LogRow, me: string, counting: boolean): boolean {
  return isHidden(row) ? addHidden(chat, row) : addMessage(chat, row, me, counting);
}

/** Applies a run of seqs hidden from this user; false when the page held all of it. */
export function addHidden(chat: ChatItem, run: HiddenRow): boolean {
  const known = chat.view.hiddenAt(run.seq)?.through ?? run.seq - 1;
  chat.view.apply(run);
  if (chat.oldest === null || run.seq < chat.oldest) chat.oldest = run.seq;
  chat.lastSeq = Math.max(chat.lastSeq, run.through);
  chat.countedUpTo = Math.max(chat.countedUpTo, run.through);
  return known < run.through;
}

/**
 * Applies a log row (pushed, caught up, or from a history page) to the chat's view; answers
 * false when the page already had it. `counting`: a row that just arrived, for the unread count.
 */
export function addMessage(chat: ChatItem, m: Message, me: string, counting: boolean): boolean {
  const known = chat.view.get(m.seq) !== undefined;
  // The target as it was before this change: a delete of a message counted as unread uncounts it.
  const target = m.target === undefined ? undefined : chat.view.get(m.target);
  const targetCounted = target !== undefined && countsAsUnread(target, me);
  chat.view.apply(m);
  if (chat.oldest === null || m.seq < chat.oldest) chat.oldest = m.seq;
  if (m.seq >= chat.lastSeq) chat.lastSeq = m.seq;
  if (isReadable(m) || m.kind === "system") chat.activity = Math.max(chat.activity, m.ts);
  updatePreview(chat, me);
  if (counting && m.seq > chat.countedUpTo) {
    chat.countedUpTo = m.seq;
    if (m.seq > chat.readSeq && countsAsUnread(m, me)) chat.unread += 1;
    if (m.kind === "delete" && m.target !== undefined && m.target > chat.readSeq) {
      if (target === undefined) chat.recount = true;
      else if (targetCounted) chat.unread = Math.max(0, chat.unread - 1);
    }
  }
  return !known;
}

/** Applies a row fetched on its own (the original of a reply older than what is loaded). */
export function addQuoted(chat: ChatItem, m: Message): void {
  chat.view.apply(m);
}

/** The chat list's line: the newest message as it stands now (edited, deleted). */
function updatePreview(chat: ChatItem, me: string): void {
  const newest = chat.view.visible().at(-1);
  if (!newest) return;
  if (newest.kind === "system") {
    chat.preview = systemText(newest.body, me);
    return;
  }
  const who = newest.sender === me ? "You: " : chat.type === "group" ? `${newest.sender}: ` : "";
  chat.preview = `${who}${newest.deleted ? deletedText : messageText(newest)}`;
}

/** The rows the conversation shows (one line per hidden run): what the view shows from the oldest loaded seq on. */
export function shownRows(chat: ChatItem, from = chat.oldest ?? 0, below = Number.POSITIVE_INFINITY): ViewRow[] {
  return chat.view.shown().filter((m) => m.seq >= from && m.seq < below);
}
