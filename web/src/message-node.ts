/**
 * One message of the open chat as a list item: sender, the quote of the message it replies to,
 * its file (a photo or a download), the text or caption (or "This message was deleted"), the
 * "edited" label, reaction chips, time and tick, and its actions (reply, react, edit, delete)
 * as labelled buttons. A pending send shows its file's upload progress. A run of seqs hidden
 * from this user is one line.
 */
import { type HiddenRow, isHidden, type Message, type ViewRow } from "../../client";
import { canDelete, canEdit, canReact, canReply } from "./allowed";
import { type AttachmentHooks, attachmentNode } from "./attachment-node";
import { h } from "./dom";
import { humanSize } from "./files";
import { clock, deletedText, messageText, snippet, systemText } from "./format";
import { reactionChips, reactionPicker } from "./reactions";
import { type ChatItem, type PendingSend, type TickState, tickOf } from "./state";

const TICK_TEXT: Record<TickState, string> = { pending: "🕓", failed: "!", sent: "✓", delivered: "✓✓", read: "✓✓" };
const TICK_LABEL: Record<TickState, string> = {
  pending: "sending",
  failed: "not sent",
  sent: "sent",
  delivered: "delivered",
  read: "read",
};

/** What the buttons of a message do. */
export interface MessageActions {
  reply(m: Message): void;
  edit(m: Message): void;
  remove(m: Message): void;
  react(m: Message, emoji: string): void;
  /** Scrolls to the message `seq` and highlights it. */
  jumpTo(seq: number): void;
}

export interface NodeContext {
  me: string;
  chat: ChatItem;
  actions: MessageActions;
  files: AttachmentHooks;
  now: number;
}

/** The line of a row the conversation shows: a message, or one line for a run of hidden seqs. */
export function rowNode(row: ViewRow, ctx: NodeContext): HTMLLIElement {
  return isHidden(row) ? hiddenNode(row) : messageNode(row, ctx);
}

/** One line for a run of seqs this user may not see (a group's messages from before it joined). */
export function hiddenNode(run: HiddenRow): HTMLLIElement {
  const attrs = { class: "msg system hidden-run", "data-seq": String(run.seq), "data-through": String(run.through) };
  return h("li", attrs, "Messages before you joined are hidden");
}

export function messageNode(m: Message, ctx: NodeContext): HTMLLIElement {
  const { me, chat } = ctx;
  if (m.kind === "system") {
    return h("li", { class: "msg system", "data-seq": String(m.seq) }, systemText(m.body, me));
  }
  const mine = m.sender === me;
  const showSender = !mine && chat.type === "group";
  const classes = ["msg", mine ? "mine" : "theirs", m.deleted ? "deleted" : ""].filter(Boolean).join(" ");
  return h(
    "li",
    {
      class: classes,
      "data-seq": String(m.seq),
      "data-sender": m.sender,
      "data-reply-to": m.replyTo === undefined ? undefined : String(m.replyTo),
      tabindex: "-1",
    },
    showSender
      ? h("span", { class: "sender" }, m.sender)
      : h("span", { class: "visually-hidden" }, mine ? "You:" : `${m.sender}:`),
    m.replyTo !== undefined && !m.deleted ? quoteNode(m.replyTo, ctx) : null,
    m.attachment && !m.deleted ? attachmentNode(m.chatId, m.attachment, ctx.files) : null,
    m.deleted ? h("p", { class: "body" }, h("em", {}, deletedText)) : bodyNode(m.body, m.attachment !== undefined),
    m.deleted ? null : reactionChips(m.reactions, me, (emoji) => ctx.actions.react(m, emoji)),
    h(
      "span",
      { class: "meta" },
      m.edited ? h("span", { class: "edited" }, "edited") : null,
      h("time", { datetime: new Date(m.ts).toISOString() }, clock(m.ts)),
      mine ? tickNode(tickOf(chat, m.seq)) : null,
    ),
    actionsNode(m, ctx),
  );
}

/** The text, or a file's caption (none when it has none). */
function bodyNode(body: string, caption: boolean): HTMLParagraphElement | null {
  if (caption && body === "") return null;
  return h("p", { class: caption ? "body caption" : "body" }, body);
}

/** An own send not yet acknowledged (or refused). */
export function pendingNode(p: PendingSend, ctx: NodeContext): HTMLLIElement {
  return h(
    "li",
    { class: `msg mine pending${p.failed ? " failed" : ""}`, "data-client-msg-id": p.clientMsgId },
    h("span", { class: "visually-hidden" }, "You:"),
    p.replyTo === undefined ? null : quoteNode(p.replyTo, ctx),
    p.file ? pendingFileNode(p) : null,
    bodyNode(p.body, p.file !== undefined),
    h(
      "span",
      { class: "meta" },
      p.failed ? h("span", { class: "fail-reason" }, p.failed) : h("time", {}, clock(p.ts)),
      tickNode(p.failed ? "failed" : "pending"),
    ),
  );
}

/** A file on its way: name and size, and while it goes up a progress bar. */
function pendingFileNode(p: PendingSend): HTMLDivElement | null {
  const file = p.file;
  if (!file) return null;
  const bar = p.progress === undefined ? null : progressNode(file.name, p.progress);
  return h(
    "div",
    { class: "attachment pending-file" },
    h("span", { class: "file-name" }, file.name),
    h("span", { class: "file-size muted" }, ` · ${humanSize(file.size)}`),
    bar,
  );
}

/** The upload's progress bar; `updateProgress` moves it. */
function progressNode(name: string, progress: number): HTMLDivElement {
  const bar = h(
    "div",
    {
      class: "progress",
      role: "progressbar",
      "aria-label": `Sending ${name}`,
      "aria-valuemin": "0",
      "aria-valuemax": "100",
    },
    h("div", { class: "progress-fill" }),
  );
  updateProgress(bar, progress);
  return bar;
}

/** Moves a pending file's bar (in `li`) to `progress` (0 to 1); answers false when it has none. */
export function updateProgress(li: HTMLElement, progress: number): boolean {
  const bar = li.matches('[role="progressbar"]') ? li : li.querySelector<HTMLElement>('[role="progressbar"]');
  if (!bar) return false;
  const percent = Math.round(Math.min(1, Math.max(0, progress)) * 100);
  bar.setAttribute("aria-valuenow", String(percent));
  bar.setAttribute("aria-valuetext", `${percent}%`);
  bar.querySelector<HTMLElement>(".progress-fill")?.style.setProperty("width", `${percent}%`);
  return true;
}

/** Sender and first words of the message `seq`, for a quote (in a reply, or above the composer). */
export function quoteParts(seq: number, ctx: { me: string; chat: ChatItem }): { who: string; text: string } {
  const original = ctx.chat.view.get(seq);
  if (!original) return { who: "", text: "a message" };
  const who = original.sender === ctx.me ? "You" : original.sender;
  return { who, text: original.deleted ? "deleted message" : snippet(messageText(original)) };
}

function quoteNode(seq: number, ctx: NodeContext): HTMLButtonElement {
  const { who, text } = quoteParts(seq, ctx);
  const deleted = ctx.chat.view.get(seq)?.deleted === true;
  const quote = h(
    "button",
    {
      type: "button",
      class: deleted ? "quote deleted" : "quote",
      "data-quote-of": String(seq),
      "aria-label": `Replying to ${who || "a message"}: ${text}. Show the original`,
    },
    who ? h("span", { class: "quote-sender" }, who) : null,
    h("span", { class: "quote-text" }, text),
  );
  quote.addEventListener("click", () => ctx.actions.jumpTo(seq));
  return quote;
}

function actionsNode(m: Message, ctx: NodeContext): HTMLDivElement | null {
  const { me, chat, actions, now } = ctx;
  const buttons: HTMLButtonElement[] = [];
  const button = (action: string, label: string, text: string, run: (b: HTMLButtonElement) => void) => {
    const b = h("button", { type: "button", "data-action": action, "aria-label": label, title: label }, text);
    b.addEventListener("click", () => run(b));
    buttons.push(b);
  };
  if (canReply(m)) button("reply", "Reply", "↩", () => actions.reply(m));
  if (canReact(m)) {
    button("react", "React", "☺", (b) => togglePicker(b, m, ctx));
    buttons.at(-1)?.setAttribute("aria-expanded", "false");
  }
  if (canEdit(m, me, now)) button("edit", "Edit", "✎", () => actions.edit(m));
  if (canDelete(m, me, chat.admins, now)) button("delete", "Delete", "🗑", () => actions.remove(m));
  if (buttons.length === 0) return null;
  const from = m.sender === me ? "your message" : `the message from ${m.sender}`;
  return h("div", { class: "actions", role: "group", "aria-label": `Actions on ${from}` }, ...buttons);
}

function togglePicker(toggle: HTMLButtonElement, m: Message, ctx: NodeContext): void {
  const li = toggle.closest("li");
  const open = li?.querySelector<HTMLElement>(".picker");
  if (open) {
    closePicker(open);
    return;
  }
  const picker = reactionPicker(m.reactions, ctx.me, (emoji) => {
    closePicker(picker);
    ctx.actions.react(m, emoji);
  });
  picker.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      closePicker(picker);
    }
  });
  toggle.setAttribute("aria-expanded", "true");
  li?.append(picker);
  // It opens above the message, or below when there is no room above it in the list.
  const list = li?.closest("ol")?.getBoundingClientRect();
  if (li && list && li.getBoundingClientRect().top - list.top < picker.offsetHeight) picker.classList.add("below");
  picker.querySelector("button")?.focus();
}

/** Closes a reaction picker and gives the focus back to its React button when it had it. */
export function closePicker(picker: HTMLElement): void {
  const toggle = picker.closest("li")?.querySelector<HTMLButtonElement>('[data-action="react"]');
  const hadFocus = picker.contains(document.activeElement);
  toggle?.setAttribute("aria-expanded", "false");
  picker.remove();
  if (hadFocus) toggle?.focus();
}

export function tickNode(state: TickState): HTMLSpanElement {
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
