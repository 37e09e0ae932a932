/**
 * The demo chat page: sign in with a name, then chat through the SDK. Wires the SDK's events to
 * the chat list and the open conversation, the forms, files and message actions (reply, edit,
 * delete, react) to the SDK's calls, notifications (Web Push, mutes, clicks) to the chats, and
 * privacy (block in a direct chat's header, the settings panel).
 */
import { ChatApiError, ChatClient, chatTypeOf, type Message, webStorage } from "../../client";
import { canEdit } from "./allowed";
import { BlockToggle } from "./block-toggle";
import { ChatList } from "./chat-list";
import { Composer } from "./composer";
import { confirmDelete } from "./confirm";
import { Conversation } from "./conversation";
import { byId } from "./dom";
import { FileAccess } from "./file-access";
import { setUpFilePicker } from "./file-picker";
import { peerOf } from "./format";
import { setUpLightbox } from "./lightbox";
import { quoteParts } from "./message-node";
import { MuteToggle } from "./mute-toggle";
import { onOpenChatMessage, takeChatFromAddress } from "./open-requests";
import { PrivacyPanel } from "./privacy-panel";
import { PushToggle } from "./push-toggle";
import { describe, Sending } from "./sending";
import { deviceIdFor, savedUser, saveUser, tokenSource } from "./session";
import { addHidden, addMessage, type ChatItem, newChat, newestSeq, type PendingSend } from "./state";
import { TypingNotices } from "./typing-notices";

const origin = location.origin;
const TYPING_SHOWN_MS = 6_000;

function showSignin(): void {
  byId("signin").hidden = false;
  byId("app").hidden = true;
  const form = byId<HTMLFormElement>("signin-form");
  const input = byId<HTMLInputElement>("signin-name");
  input.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    const error = byId("signin-error");
    error.textContent = "";
    try {
      // Proves the dev token route works before the page commits to this name.
      await tokenSource(origin, name)();
    } catch (err) {
      const off = err instanceof ChatApiError && err.status === 404;
      error.textContent = off ? "Sign-in by name needs the local development server (DEV_AUTH)." : describe(err);
      return;
    }
    saveUser(name);
    start(name);
  });
}

function start(me: string): void {
  byId("signin").hidden = true;
  byId("app").hidden = false;
  byId("me-name").textContent = me;
  const client = new ChatClient({
    baseUrl: origin,
    userId: me,
    deviceId: deviceIdFor(me),
    getToken: tokenSource(origin, me),
    storage: webStorage(localStorage),
  });
  const chats = new Map<string, ChatItem>();
  const presence = new Map<string, { online: boolean; lastSeen: number | null }>();
  const files = new FileAccess(client);
  const sideError = byId("side-error");
  const list = new ChatList(me, (chatId) => void openChat(chatId));
  const conv = new Conversation(
    me,
    client.api,
    (u) => presence.get(u),
    (chat) => markSeen(chat),
    {
      reply: (m) => {
        const chat = conv.current;
        if (!chat) return;
        const { who, text } = quoteParts(m.seq, { me, chat });
        composer.reply(m.seq, who, text);
      },
      edit: (m) => {
        if (!canEdit(m, me, Date.now())) {
          conv.showError("This message can no longer be edited.");
          return;
        }
        conv.showError("");
        composer.edit(m.seq, m.body);
      },
      remove: (m) => void removeMessage(m),
      react: (m, emoji) => {
        conv.showError("");
        client.react(m.chatId, m.seq, emoji).catch((err: unknown) => sending.failed(m.chatId, "react", err));
      },
    },
    files,
  );
  const composer = new Composer((mode, body) => sending.submit(mode, body));
  const typingNotices = new TypingNotices(client, conv, composer);
  const stopTyping = () => typingNotices.stop();
  const sending = new Sending(me, client, conv, composer, stopTyping);
  const push = new PushToggle(client, (text) => {
    sideError.textContent = text;
  });
  const mute = new MuteToggle(me, client.api, (text) => conv.showError(text));
  const blocking = new BlockToggle(me, client, (text) => conv.showError(text));
  const privacy = new PrivacyPanel(client);
  const renderList = () => list.render(chats.values(), conv.current?.chatId ?? null);

  function chatFor(chatId: string): ChatItem {
    let chat = chats.get(chatId);
    if (!chat) {
      chat = newChat({
        chatId,
        type: chatTypeOf(chatId),
        title: null,
        lastSeq: 0,
        readSeq: 0,
        unread: 0,
        receipts: client.watermarks(chatId),
      });
      chats.set(chatId, chat);
      void refreshChats();
    }
    return chat;
  }

  async function refreshChats(): Promise<void> {
    try {
      for (const s of await client.listChats()) {
        const chat = chats.get(s.chatId);
        if (!chat) {
          chats.set(s.chatId, newChat({ ...s, receipts: client.watermarks(s.chatId) }));
          continue;
        }
        chat.title = s.title;
        // The server's count stands when it has seen every message counted here and every read
        // mark made here; otherwise the count kept from the messages as they arrived stands.
        const current = s.lastSeq > chat.countedUpTo || (s.lastSeq === chat.countedUpTo && s.readSeq >= chat.readSeq);
        if (current) {
          chat.unread = s.unread;
          chat.countedUpTo = s.lastSeq;
        }
        chat.readSeq = Math.max(chat.readSeq, s.readSeq);
        chat.lastSeq = Math.max(chat.lastSeq, s.lastSeq);
      }
    } catch (err) {
      sideError.textContent = `Could not load your chats: ${describe(err)}`;
      return;
    }
    const peers = [...chats.keys()].map((id) => peerOf(id, me)).filter((p): p is string => p !== null);
    client.watch(peers);
    if (conv.current) markSeen(conv.current);
    renderList();
    conv.renderHeader();
  }

  /** The open chat is on screen: mark everything shown as read (the sender's blue ticks). */
  function markSeen(chat: ChatItem): void {
    if (conv.current !== chat || document.visibilityState !== "visible") return;
    const newest = newestSeq(chat);
    if (newest > chat.readSeq) client.markRead(chat.chatId, newest);
    chat.readSeq = Math.max(chat.readSeq, newest);
    chat.countedUpTo = Math.max(chat.countedUpTo, newest);
    chat.unread = 0;
    renderList();
  }

  async function openChat(chatId: string): Promise<void> {
    stopTyping();
    const chat = chatFor(chatId);
    if (conv.current !== chat) composer.cancel();
    renderList();
    mute.show(chatId);
    blocking.show(chatId);
    await conv.show(chat);
    renderList();
    byId("composer-input").focus();
  }

  /** A notification was clicked: open its chat, if it is one of this user's. */
  async function openRequested(chatId: string): Promise<void> {
    if (!chats.has(chatId)) await refreshChats();
    // Pushes reach the browser, not a name: a chat of another name signed in here is not ours to open.
    if (chats.has(chatId)) await openChat(chatId);
  }

  client.on("message", (m) => {
    const chat = chatFor(m.chatId);
    if (m.sender === me) chat.pending.delete(m.clientMsgId);
    if (!addMessage(chat, m, me, true)) return;
    if (m.kind === "system" && chat.type === "group" && chat.loaded) void conv.refreshMembers(chat);
    if (m.kind === "delete" && m.target !== undefined && conv.current === chat) composer.targetGone(m.target);
    conv.added(m);
    markSeen(chat);
    if (chat.recount) {
      chat.recount = false;
      void refreshChats();
    }
    renderList();
  });
  client.on("hidden", (run) => {
    const chat = chatFor(run.chatId);
    if (!addHidden(chat, run)) return;
    conv.hiddenAdded(run);
    markSeen(chat);
  });
  // Ticks come from the SDK's watermarks: receipts, and after a reload `ready` and the chat list.
  client.on("watermarks", (w) => {
    const chat = chats.get(w.chatId);
    if (!chat) return;
    chat.delivered = w.delivered;
    chat.read = w.read;
    if (conv.current === chat) conv.ticksChanged();
  });
  client.on("read", (r) => {
    const chat = chatFor(r.chatId);
    chat.readSeq = Math.max(chat.readSeq, r.seq);
    if (r.seq >= chat.lastSeq) chat.unread = 0;
    // Read up to the middle on another device: what is left unread is the server's to count.
    else void refreshChats();
    renderList();
  });
  client.on("presence", (p) => {
    presence.set(p.userId, p);
    conv.renderHeader();
  });
  client.on("typing", (t) => {
    if (t.userId === me) return;
    const chat = chatFor(t.chatId);
    clearTimeout(chat.typing.get(t.userId));
    chat.typing.delete(t.userId);
    if (t.on) {
      const expire = setTimeout(() => {
        chat.typing.delete(t.userId);
        if (conv.current === chat) conv.renderTyping();
        renderList();
      }, TYPING_SHOWN_MS);
      chat.typing.set(t.userId, expire);
    }
    if (conv.current === chat) conv.renderTyping();
    renderList();
  });
  client.on("state", (s) => {
    const conn = byId("conn");
    conn.dataset.state = s.state;
    byId("use-here").hidden = s.reason !== "replaced";
    if (s.state === "open") {
      conn.textContent = "connected";
      void refreshChats();
    } else if (s.state === "connecting") conn.textContent = "connecting…";
    else if (s.reason === "replaced") conn.textContent = "open in another tab";
    else conn.textContent = s.retryInMs === undefined ? "offline" : "offline, retrying…";
  });
  byId("use-here").addEventListener("click", () => client.connect());
  client.on("error", (e) => console.warn(`edge-chat: ${e.code}: ${e.message}`));

  async function removeMessage(m: Message): Promise<void> {
    if (!(await confirmDelete())) return;
    conv.showError("");
    client
      .deleteForEveryone(m.chatId, m.seq)
      .catch((err: unknown) => sending.failed(m.chatId, "delete the message", err));
  }

  byId<HTMLFormElement>("direct-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = byId<HTMLInputElement>("direct-user");
    const peer = field.value.trim();
    sideError.textContent = "";
    if (peer === me) {
      sideError.textContent = "That is you: pick someone else's name.";
      return;
    }
    try {
      const chatId = await client.createDirectChat(peer);
      field.value = "";
      chatFor(chatId);
      client.watch([...chats.keys()].map((id) => peerOf(id, me)).filter((p): p is string => p !== null));
      await openChat(chatId);
    } catch (err) {
      sideError.textContent = `Could not start the chat: ${describe(err)}`;
    }
  });
  byId<HTMLFormElement>("group-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const title = byId<HTMLInputElement>("group-title");
    const members = byId<HTMLInputElement>("group-members");
    sideError.textContent = "";
    try {
      const names = members.value.split(/[\s,]+/).filter((n) => n && n !== me);
      const chatId = await client.createGroup(title.value.trim(), names);
      const chat = chatFor(chatId);
      chat.title = title.value.trim();
      title.value = "";
      members.value = "";
      byId<HTMLDetailsElement>("group-form").closest("details")?.removeAttribute("open");
      await openChat(chatId);
    } catch (err) {
      sideError.textContent = `Could not create the group: ${describe(err)}`;
    }
  });
  setUpFilePicker(
    () => conv.current !== null,
    (files) => sending.sendFiles(files),
  );
  setUpLightbox();
  onOpenChatMessage((chatId) => void openRequested(chatId));
  byId("signout").addEventListener("click", async () => {
    files.revokeAll();
    await push.signOut();
    client.close();
    saveUser(null);
    location.reload();
  });

  document.addEventListener("visibilitychange", () => {
    if (conv.current) markSeen(conv.current);
  });
  // An open socket can outlive the network for a while; say "offline" at once and resync when back.
  window.addEventListener("offline", () => client.disconnect());
  window.addEventListener("online", () => client.connect());
  setInterval(() => conv.renderHeader(), 30_000);

  // Sends from before a reload still waiting for their ack: texts, replies and files (uploaded
  // already) show as pending; edits, deletes and reactions show once applied, never as bubbles.
  for (const p of client.pending()) {
    if (p.kind !== undefined && p.kind !== "attachment") continue;
    const { clientMsgId, body, replyTo, attachment } = p;
    if (p.kind === "attachment" && !attachment) continue;
    const pending: PendingSend = { clientMsgId, body, ts: Date.now(), replyTo };
    if (attachment)
      pending.file = { name: attachment.name, size: attachment.size, contentType: attachment.contentType };
    chatFor(p.chatId).pending.set(clientMsgId, pending);
  }
  const requested = takeChatFromAddress();
  void refreshChats().then(() => {
    client.connect();
    if (requested) void openRequested(requested);
  });
  push.start().catch((err: unknown) => console.warn(`edge-chat: notifications: ${err}`));
  void blocking.load();
  void privacy.load();
}

const user = savedUser();
if (user) start(user);
else showSignin();
