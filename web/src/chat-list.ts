/** The chat list: one button per chat, newest activity first, with unread badges and typing. */
import { byId, h } from "./dom";
import { chatTitle } from "./format";
import type { ChatItem } from "./state";

interface Row {
  li: HTMLLIElement;
  button: HTMLButtonElement;
  title: HTMLSpanElement;
  preview: HTMLSpanElement;
  badge: HTMLSpanElement;
}

export class ChatList {
  private readonly list = byId<HTMLUListElement>("chat-list");
  private readonly rows = new Map<string, Row>();

  constructor(
    private readonly me: string,
    private readonly onOpen: (chatId: string) => void,
  ) {}

  render(chats: Iterable<ChatItem>, openId: string | null): void {
    const sorted = [...chats].sort((a, b) => b.activity - a.activity || a.chatId.localeCompare(b.chatId));
    byId("no-chats").hidden = sorted.length > 0;
    for (const chat of sorted) this.update(this.row(chat.chatId), chat, openId);
    const order = sorted.map((c) => this.row(c.chatId).li);
    const current = [...this.list.children];
    if (order.length !== current.length || order.some((li, i) => current[i] !== li)) {
      const focused = document.activeElement;
      this.list.replaceChildren(...order);
      if (focused instanceof HTMLElement && this.list.contains(focused)) focused.focus();
    }
  }

  private update(row: Row, chat: ChatItem, openId: string | null): void {
    const title = chatTitle(chat, this.me);
    row.title.textContent = title;
    const typing = [...chat.typing.keys()];
    row.preview.textContent = typing.length > 0 ? "typing…" : chat.preview;
    row.preview.classList.toggle("is-typing", typing.length > 0);
    row.badge.hidden = chat.unread === 0;
    row.badge.textContent = String(chat.unread);
    row.badge.setAttribute("aria-label", `${chat.unread} unread`);
    if (chat.chatId === openId) row.button.setAttribute("aria-current", "true");
    else row.button.removeAttribute("aria-current");
    row.button.dataset.chatTitle = title;
  }

  private row(chatId: string): Row {
    const known = this.rows.get(chatId);
    if (known) return known;
    const title = h("span", { class: "title" });
    const preview = h("span", { class: "preview muted" });
    const badge = h("span", { class: "badge" });
    const button = h("button", { type: "button", class: "chat", "data-chat-id": chatId }, title, badge, preview);
    button.addEventListener("click", () => this.onOpen(chatId));
    const row = { li: h("li", {}, button), button, title, preview, badge };
    this.rows.set(chatId, row);
    return row;
  }
}
