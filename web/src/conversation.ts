/**
 * The open chat: its messages as its `MessageView` shows them (newest at the bottom, older ones
 * loaded on scroll-up), each redrawn when an edit, delete or reaction changes it; quotes that
 * jump to the original; photos and files; ticks on own messages (the SDK's watermarks); one line
 * per run of messages hidden from this user; the typing line and the header with presence.
 */
import { type ChatApi, type HiddenRow, isHidden, type Message, type ViewRow } from "../../client";
import type { AttachmentHooks } from "./attachment-node";
import { byId, h } from "./dom";
import type { FileAccess } from "./file-access";
import { chatTitle, messageText, peerOf, presenceLine, typingLine } from "./format";
import { openLightbox } from "./lightbox";
import {
  closePicker,
  hiddenNode,
  type MessageActions,
  messageNode,
  type NodeContext,
  pendingNode,
  rowNode,
  tickNode,
  updateProgress,
} from "./message-node";
import { addQuoted, addRow, type ChatItem, type PendingSend, shownRows, tickOf } from "./state";

const PAGE = 50;
/** `before` for the newest page: above any seq (15 digits is what the query accepts). */
const NEWEST = 999_999_999_999_999;
const HIGHLIGHT_MS = 2_000;

type Presence = { online: boolean; lastSeen: number | null };

export class Conversation {
  private chat: ChatItem | null = null;
  private readonly list = byId<HTMLOListElement>("messages");
  private readonly title = byId("chat-title");
  private readonly sub = byId("chat-sub");
  private readonly typing = byId("typing");
  private readonly announcer = byId("announcer");
  private readonly error = byId("conv-error");
  private readonly actions: MessageActions;
  private readonly files: AttachmentHooks;
  /** Whether the list was scrolled to the bottom when last scrolled: a photo loading keeps it there. */
  private stuck = true;
  private olderLoad: Promise<void> | null = null;
  /** Originals of replies being fetched on their own, by `chatId seq`. */
  private readonly quoting = new Set<string>();
  private highlightTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly me: string,
    private readonly api: ChatApi,
    private readonly presenceOf: (userId: string) => Presence | undefined,
    private readonly onShown: (chat: ChatItem) => void,
    actions: Omit<MessageActions, "jumpTo">,
    files: FileAccess,
  ) {
    this.actions = { ...actions, jumpTo: (seq) => void this.jumpTo(seq) };
    this.files = {
      files,
      open: openLightbox,
      photoLoaded: () => {
        if (this.stuck) this.scrollToBottom();
      },
      failed: (text) => this.showError(text),
    };
    this.list.addEventListener("scroll", () => {
      this.stuck = this.nearBottom();
      if (this.list.scrollTop < 120) void this.loadOlder();
    });
    // A click anywhere but in a reaction picker (or on its toggle) closes it.
    document.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target : null;
      for (const picker of this.list.querySelectorAll<HTMLElement>(".picker")) {
        const toggle = picker.closest("li")?.querySelector('[data-action="react"]');
        if (!picker.contains(target) && !toggle?.contains(target)) closePicker(picker);
      }
    });
  }

  get current(): ChatItem | null {
    return this.chat;
  }

  async show(chat: ChatItem): Promise<void> {
    this.chat = chat;
    for (const id of ["chat-head", "messages", "composer"]) byId(id).hidden = false;
    byId("empty").hidden = true;
    this.showError("");
    this.renderHeader();
    this.renderTyping();
    this.list.replaceChildren();
    this.list.setAttribute("aria-busy", "true");
    if (!chat.loaded) await this.loadNewest(chat);
    if (this.chat !== chat) return;
    const ctx = this.context(chat);
    const nodes = shownRows(chat).map((m) => rowNode(m, ctx));
    this.list.replaceChildren(...nodes, ...[...chat.pending.values()].map((p) => pendingNode(p, ctx)));
    this.list.removeAttribute("aria-busy");
    this.scrollToBottom();
    for (const m of shownRows(chat)) this.ensureQuoted(chat, m);
    this.onShown(chat);
    if (this.list.scrollHeight <= this.list.clientHeight) void this.loadOlder();
  }

  hide(): void {
    this.chat = null;
    for (const id of ["chat-head", "messages", "composer"]) byId(id).hidden = true;
    byId("empty").hidden = false;
    this.typing.textContent = "";
  }

  /** A run of seqs hidden from this user arrived: one line for the whole run it is part of. */
  hiddenAdded(run: HiddenRow): void {
    const chat = this.chat;
    if (!chat || run.chatId !== chat.chatId) return;
    const whole = chat.view.hiddenAt(run.seq);
    if (!whole || whole.seq < (chat.oldest ?? 0)) return;
    for (const el of this.list.querySelectorAll<HTMLElement>("li.hidden-run")) {
      const seq = Number(el.dataset.seq);
      if (seq >= whole.seq && seq <= whole.through) el.remove();
    }
    this.insert(hiddenNode(whole), whole.seq);
  }

  /** A row of the open chat's log arrived (pushed, caught up, or the echo of an own send). */
  added(m: Message): void {
    const chat = this.chat;
    if (!chat || m.chatId !== chat.chatId) return;
    if (m.target !== undefined) {
      this.redraw(m.target);
      return;
    }
    const stick = this.nearBottom() || m.sender === this.me;
    if (m.sender === this.me) this.list.querySelector(`[data-client-msg-id="${CSS.escape(m.clientMsgId)}"]`)?.remove();
    const row = chat.view.get(m.seq);
    if (!row || !shownRows(chat, m.seq, m.seq + 1).length) return;
    this.insert(messageNode(row, this.context(chat)), m.seq);
    this.ensureQuoted(chat, row);
    if (stick) this.scrollToBottom();
    if (m.sender !== this.me && (m.kind === "text" || m.kind === "attachment"))
      this.announcer.textContent = `${m.sender}: ${messageText(row)}`;
  }

  pendingAdded(p: PendingSend): void {
    if (!this.chat) return;
    this.list.append(pendingNode(p, this.context(this.chat)));
    this.scrollToBottom();
  }

  pendingFailed(p: PendingSend): void {
    if (!this.chat) return;
    this.pendingRow(p)?.replaceWith(pendingNode(p, this.context(this.chat)));
  }

  /** A pending file's upload moved on (or ended: the bar goes). */
  pendingProgress(p: PendingSend): void {
    const li = this.pendingRow(p);
    if (!li || !this.chat) return;
    if (p.progress === undefined || !updateProgress(li, p.progress))
      li.replaceWith(pendingNode(p, this.context(this.chat)));
  }

  /** A pending send that will not be stored (a refused upload): its bubble goes. */
  pendingRemoved(p: PendingSend): void {
    this.pendingRow(p)?.remove();
  }

  private pendingRow(p: PendingSend): HTMLElement | null {
    return this.list.querySelector<HTMLElement>(`[data-client-msg-id="${CSS.escape(p.clientMsgId)}"]`);
  }

  /** Says what went wrong with the last action (empty: clears it). */
  showError(text: string): void {
    this.error.textContent = text;
  }

  /** Receipts moved: refresh the ticks of own messages. */
  ticksChanged(): void {
    const chat = this.chat;
    if (!chat) return;
    for (const el of this.list.querySelectorAll<HTMLElement>("li.mine[data-seq]")) {
      const state = tickOf(chat, Number(el.dataset.seq));
      const tick = el.querySelector<HTMLElement>(".tick");
      if (tick && tick.dataset.tick !== state) tick.replaceWith(tickNode(state));
    }
  }

  renderHeader(): void {
    const chat = this.chat;
    if (!chat) return;
    this.title.textContent = chatTitle(chat, this.me);
    const peer = peerOf(chat.chatId, this.me);
    if (peer) this.sub.textContent = presenceLine(this.presenceOf(peer));
    else if (chat.members?.length === 0) this.sub.textContent = "You are not a member of this group.";
    else this.sub.textContent = chat.members ? `${chat.members.length} members: ${chat.members.join(", ")}` : "group";
  }

  renderTyping(): void {
    this.typing.textContent = this.chat ? typingLine([...this.chat.typing.keys()]) : "";
  }

  /** A group's members changed (a system message): show the new list, and who may delete what. */
  async refreshMembers(chat: ChatItem): Promise<void> {
    try {
      const members = (await this.api.getChat(chat.chatId)).members;
      chat.members = members.map((m) => m.userId);
      chat.admins = new Set(members.filter((m) => m.role === "admin").map((m) => m.userId));
    } catch {
      chat.members = [];
      chat.admins = new Set();
    }
    if (this.chat !== chat) return;
    this.renderHeader();
    for (const el of this.list.querySelectorAll<HTMLElement>("li[data-seq]")) this.redraw(Number(el.dataset.seq));
  }

  /** Scrolls to message `seq` (loading older pages until it is there) and highlights it for a moment. */
  async jumpTo(seq: number): Promise<void> {
    const chat = this.chat;
    if (!chat) return;
    let el = this.rowOf(seq);
    while (!el && chat.hasOlder && (chat.oldest ?? 0) > seq && this.chat === chat) {
      const before = chat.oldest;
      await this.loadOlder(true);
      if (chat.oldest === before) break;
      el = this.rowOf(seq);
    }
    if (!el || this.chat !== chat) {
      this.showError("The original message is not available.");
      return;
    }
    const reduce = matchMedia("(prefers-reduced-motion: reduce)").matches;
    el.scrollIntoView({ block: "center", behavior: reduce ? "auto" : "smooth" });
    for (const lit of this.list.querySelectorAll(".highlight")) lit.classList.remove("highlight");
    el.classList.add("highlight");
    el.focus({ preventScroll: true });
    clearTimeout(this.highlightTimer);
    this.highlightTimer = setTimeout(() => this.rowOf(seq)?.classList.remove("highlight"), HIGHLIGHT_MS);
  }

  /** Draws message `seq` again as the view holds it now, and every quote of it. */
  private redraw(seq: number): void {
    const chat = this.chat;
    if (!chat) return;
    const ctx = this.context(chat);
    const row = chat.view.get(seq);
    const el = this.rowOf(seq);
    if (row && el) {
      const focused = el.contains(document.activeElement)
        ? (document.activeElement as HTMLElement).dataset.action
        : undefined;
      const next = messageNode(row, ctx);
      if (el.classList.contains("highlight")) next.classList.add("highlight");
      el.replaceWith(next);
      if (focused) next.querySelector<HTMLElement>(`[data-action="${focused}"]`)?.focus();
      // Someone else's reaction arriving does not close the picker this user has open.
      if (el.querySelector(".picker")) next.querySelector<HTMLElement>('[data-action="react"]')?.click();
    }
    for (const quoting of this.list.querySelectorAll<HTMLElement>(`li[data-reply-to="${seq}"][data-seq]`)) {
      const m = chat.view.get(Number(quoting.dataset.seq));
      if (m) quoting.replaceWith(messageNode(m, ctx));
    }
  }

  /** A reply whose original the page does not hold: fetch that one row, then draw its quotes. */
  private ensureQuoted(chat: ChatItem, m: ViewRow): void {
    const seq = isHidden(m) ? undefined : m.replyTo;
    if (seq === undefined || chat.view.get(seq)) return;
    const key = `${chat.chatId} ${seq}`;
    if (this.quoting.has(key)) return;
    this.quoting.add(key);
    this.api
      .history(chat.chatId, { after: seq - 1, limit: 1 })
      .then((page) => {
        for (const row of page.messages) if (!isHidden(row)) addQuoted(chat, row);
        if (this.chat === chat) this.redraw(seq);
      })
      .catch(() => {
        // The quote keeps saying "a message"; jumping to it loads the pages up to it.
      })
      .finally(() => this.quoting.delete(key));
  }

  private context(chat: ChatItem): NodeContext {
    return { me: this.me, chat, actions: this.actions, files: this.files, now: Date.now() };
  }

  private rowOf(seq: number): HTMLElement | null {
    return this.list.querySelector<HTMLElement>(`li[data-seq="${seq}"]`);
  }

  private async loadNewest(chat: ChatItem): Promise<void> {
    try {
      const page = await this.api.history(chat.chatId, { before: NEWEST, limit: PAGE });
      for (const m of page.messages) addRow(chat, m, this.me, false);
      chat.hasOlder = page.more && (chat.oldest ?? 0) > 1;
      chat.loaded = true;
      if (chat.type === "group" && !chat.members) await this.refreshMembers(chat);
    } catch (err) {
      this.sub.textContent = `Could not load this chat: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  /** Loads the page before the oldest loaded message; `force`: also while one is loading (waits for it). */
  private async loadOlder(force = false): Promise<void> {
    if (this.olderLoad) {
      if (force) await this.olderLoad;
      return;
    }
    const chat = this.chat;
    if (!chat?.loaded || !chat.hasOlder || chat.oldest === null) return;
    this.olderLoad = this.loadPageBefore(chat, chat.oldest);
    try {
      await this.olderLoad;
    } finally {
      this.olderLoad = null;
    }
    if (!force && this.chat === chat && this.list.scrollTop < 120) void this.loadOlder();
  }

  private async loadPageBefore(chat: ChatItem, oldest: number): Promise<void> {
    const spinner = h("li", { class: "loading muted", role: "status" }, "Loading older messages…");
    this.list.prepend(spinner);
    try {
      const page = await this.api.history(chat.chatId, { before: oldest, limit: PAGE });
      if (this.chat !== chat) return;
      for (const m of page.messages) addRow(chat, m, this.me, false);
      chat.hasOlder = page.more && (chat.oldest ?? 0) > 1;
      const older = shownRows(chat, chat.oldest ?? oldest, oldest);
      const before = this.list.scrollHeight;
      spinner.remove();
      const ctx = this.context(chat);
      // A run clipped by the page before is now one line, which the older page brought.
      for (const el of this.list.querySelectorAll<HTMLElement>("li.hidden-run")) {
        if (chat.view.hiddenAt(Number(el.dataset.seq))?.seq !== Number(el.dataset.seq)) el.remove();
      }
      this.list.prepend(...older.map((m) => rowNode(m, ctx)));
      for (const m of older) this.ensureQuoted(chat, m);
      // Keep the messages the user was looking at in place.
      this.list.scrollTop += this.list.scrollHeight - before;
    } catch {
      chat.hasOlder = true;
    } finally {
      spinner.remove();
    }
  }

  private insert(li: HTMLElement, seq: number): void {
    let before: Element | null = null;
    for (let el = this.list.lastElementChild; el; el = el.previousElementSibling) {
      const s = (el as HTMLElement).dataset.seq;
      // Pending sends (no seq yet) stay below every stored message.
      if (s === undefined || Number(s) > seq) before = el;
      else break;
    }
    this.list.insertBefore(li, before);
  }

  private nearBottom(): boolean {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
  }

  private scrollToBottom(): void {
    this.list.scrollTop = this.list.scrollHeight;
    this.stuck = true;
  }
}
