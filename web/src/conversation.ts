/**
 * The open chat: its messages (newest at the bottom, older ones loaded on scroll-up), ticks on
 * own messages, the typing line and the header with presence.
 */
import type { ChatApi, Message } from "../../client";
import { byId, h } from "./dom";
import { chatTitle, clock, peerOf, presenceLine, systemText, typingLine } from "./format";
import { addMessage, type ChatItem, type PendingSend, type TickState, tickOf } from "./state";

const PAGE = 50;
/** `before` for the newest page: above any seq (15 digits is what the query accepts). */
const NEWEST = 999_999_999_999_999;
const TICK_TEXT: Record<TickState, string> = { pending: "🕓", failed: "!", sent: "✓", delivered: "✓✓", read: "✓✓" };
const TICK_LABEL: Record<TickState, string> = {
  pending: "sending",
  failed: "not sent",
  sent: "sent",
  delivered: "delivered",
  read: "read",
};

type Presence = { online: boolean; lastSeen: number | null };

export class Conversation {
  private chat: ChatItem | null = null;
  private readonly list = byId<HTMLOListElement>("messages");
  private readonly title = byId("chat-title");
  private readonly sub = byId("chat-sub");
  private readonly typing = byId("typing");
  private readonly announcer = byId("announcer");
  private loadingOlder = false;

  constructor(
    private readonly me: string,
    private readonly api: ChatApi,
    private readonly presenceOf: (userId: string) => Presence | undefined,
    private readonly onShown: (chat: ChatItem) => void,
  ) {
    this.list.addEventListener("scroll", () => {
      if (this.list.scrollTop < 120) void this.loadOlder();
    });
  }

  get current(): ChatItem | null {
    return this.chat;
  }

  async show(chat: ChatItem): Promise<void> {
    this.chat = chat;
    for (const id of ["chat-head", "messages", "composer"]) byId(id).hidden = false;
    byId("empty").hidden = true;
    this.renderHeader();
    this.renderTyping();
    this.list.replaceChildren();
    this.list.setAttribute("aria-busy", "true");
    if (!chat.loaded) await this.loadNewest(chat);
    if (this.chat !== chat) return;
    const nodes = [...chat.messages.values()].sort((a, b) => a.seq - b.seq).map((m) => this.node(m));
    this.list.replaceChildren(...nodes, ...[...chat.pending.values()].map((p) => this.pendingNode(p)));
    this.list.removeAttribute("aria-busy");
    this.scrollToBottom();
    this.onShown(chat);
    if (this.list.scrollHeight <= this.list.clientHeight) void this.loadOlder();
  }

  hide(): void {
    this.chat = null;
    for (const id of ["chat-head", "messages", "composer"]) byId(id).hidden = true;
    byId("empty").hidden = false;
    this.typing.textContent = "";
  }

  /** A new message of the open chat (pushed, caught up, or the echo of an own send). */
  added(m: Message): void {
    if (!this.chat || m.chatId !== this.chat.chatId) return;
    const stick = this.nearBottom() || m.sender === this.me;
    if (m.sender === this.me) this.list.querySelector(`[data-client-msg-id="${CSS.escape(m.clientMsgId)}"]`)?.remove();
    this.insert(this.node(m), m.seq);
    if (stick) this.scrollToBottom();
    if (m.sender !== this.me && m.kind === "text") this.announcer.textContent = `${m.sender}: ${m.body}`;
  }

  pendingAdded(p: PendingSend): void {
    this.list.append(this.pendingNode(p));
    this.scrollToBottom();
  }

  pendingFailed(p: PendingSend): void {
    const el = this.list.querySelector<HTMLElement>(`[data-client-msg-id="${CSS.escape(p.clientMsgId)}"]`);
    if (el) el.replaceWith(this.pendingNode(p));
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

  /** A group's members changed (a system message): show the new list. */
  async refreshMembers(chat: ChatItem): Promise<void> {
    try {
      chat.members = (await this.api.getChat(chat.chatId)).members.map((m) => m.userId);
    } catch {
      chat.members = [];
    }
    if (this.chat === chat) this.renderHeader();
  }

  private async loadNewest(chat: ChatItem): Promise<void> {
    try {
      const page = await this.api.history(chat.chatId, { before: NEWEST, limit: PAGE });
      for (const m of page.messages) addMessage(chat, m, this.me, false);
      chat.hasOlder = page.more && (chat.oldest ?? 0) > 1;
      chat.loaded = true;
      if (chat.type === "group" && !chat.members) await this.refreshMembers(chat);
      await this.loadTicks(chat);
    } catch (err) {
      this.sub.textContent = `Could not load this chat: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  /** Receipts are pushed only as they change; after a (re)load, ask for the newest own message's. */
  private async loadTicks(chat: ChatItem): Promise<void> {
    const own = [...chat.messages.values()].filter((m) => m.sender === this.me && m.kind === "text");
    const newest = own.reduce((max, m) => Math.max(max, m.seq), 0);
    if (newest === 0) return;
    const receipts = await this.api.receipts(chat.chatId, newest).catch(() => null);
    if (!receipts) return;
    const others = chat.members?.filter((u) => u !== this.me) ?? [peerOf(chat.chatId, this.me) ?? ""];
    const all = (users: string[]) => others.length > 0 && others.every((u) => users.includes(u));
    if (all(receipts.read)) chat.read = Math.max(chat.read, newest);
    if (all(receipts.delivered) || all(receipts.read)) chat.delivered = Math.max(chat.delivered, newest);
  }

  private async loadOlder(): Promise<void> {
    const chat = this.chat;
    if (!chat?.loaded || !chat.hasOlder || this.loadingOlder || chat.oldest === null) return;
    this.loadingOlder = true;
    const spinner = h("li", { class: "loading muted", role: "status" }, "Loading older messages…");
    this.list.prepend(spinner);
    try {
      const page = await this.api.history(chat.chatId, { before: chat.oldest, limit: PAGE });
      if (this.chat !== chat) return;
      const older = page.messages.filter((m) => !chat.messages.has(m.seq)).sort((a, b) => a.seq - b.seq);
      for (const m of older) addMessage(chat, m, this.me, false);
      chat.hasOlder = page.more && (chat.oldest ?? 0) > 1;
      const before = this.list.scrollHeight;
      spinner.remove();
      this.list.prepend(...older.map((m) => this.node(m)));
      // Keep the messages the user was looking at in place.
      this.list.scrollTop += this.list.scrollHeight - before;
    } catch {
      chat.hasOlder = true;
    } finally {
      spinner.remove();
      this.loadingOlder = false;
    }
    if (this.chat === chat && this.list.scrollTop < 120) void this.loadOlder();
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

  private node(m: Message): HTMLLIElement {
    const chat = this.chat as ChatItem;
    if (m.kind === "system") {
      return h("li", { class: "msg system", "data-seq": String(m.seq) }, systemText(m.body, this.me));
    }
    const mine = m.sender === this.me;
    const showSender = !mine && chat.type === "group";
    return h(
      "li",
      { class: mine ? "msg mine" : "msg theirs", "data-seq": String(m.seq), "data-sender": m.sender },
      showSender
        ? h("span", { class: "sender" }, m.sender)
        : h("span", { class: "visually-hidden" }, mine ? "You:" : `${m.sender}:`),
      h("p", { class: "body" }, m.body),
      h(
        "span",
        { class: "meta" },
        h("time", { datetime: new Date(m.ts).toISOString() }, clock(m.ts)),
        mine ? tickNode(tickOf(chat, m.seq)) : null,
      ),
    );
  }

  private pendingNode(p: PendingSend): HTMLLIElement {
    return h(
      "li",
      { class: `msg mine pending${p.failed ? " failed" : ""}`, "data-client-msg-id": p.clientMsgId },
      h("span", { class: "visually-hidden" }, "You:"),
      h("p", { class: "body" }, p.body),
      h(
        "span",
        { class: "meta" },
        p.failed ? h("span", { class: "fail-reason" }, p.failed) : h("time", {}, clock(p.ts)),
        tickNode(p.failed ? "failed" : "pending"),
      ),
    );
  }

  private nearBottom(): boolean {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
  }

  private scrollToBottom(): void {
    this.list.scrollTop = this.list.scrollHeight;
  }
}

function tickNode(state: TickState): HTMLSpanElement {
  return h(
    "span",
    {
      class: `tick ${state}`,
      "data-tick": state,
      role: "img",
      "aria-label": TICK_LABEL[state],
      title: TICK_LABEL[state],
    },
    TICK_TEXT[state],
  );
}
