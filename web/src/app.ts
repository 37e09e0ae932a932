/**
 * The demo chat page: sign in with a name, then chat through the SDK. Wires the SDK's events to
 * the chat list and the open conversation, and the forms to the SDK's calls.
 */
import { ChatApiError, ChatClient, chatTypeOf, newClientMsgId, webStorage } from "../../client";
import { ChatList } from "./chat-list";
import { Conversation } from "./conversation";
import { byId } from "./dom";
import { peerOf } from "./format";
import { deviceIdFor, savedUser, saveUser, tokenSource } from "./session";
import { addMessage, type ChatItem, newChat, type PendingSend } from "./state";

const origin = location.origin;
const TYPING_SHOWN_MS = 6_000;
const TYPING_IDLE_MS = 4_000;
const TYPING_REPEAT_MS = 3_000;

function describe(err: unknown): string {
  if (err instanceof ChatApiError && err.code === "network") return "the server cannot be reached";
  return err instanceof Error ? err.message : String(err);
}

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
  const sideError = byId("side-error");
  const list = new ChatList(me, (chatId) => void openChat(chatId));
  const conv = new Conversation(
    me,
    client.api,
    (u) => presence.get(u),
    (chat) => markSeen(chat),
  );
  const renderList = () => list.render(chats.values(), conv.current?.chatId ?? null);

  function chatFor(chatId: string): ChatItem {
    let chat = chats.get(chatId);
    if (!chat) {
      chat = newChat({ chatId, type: chatTypeOf(chatId), title: null, lastSeq: 0, readSeq: 0, unread: 0 });
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
          chats.set(s.chatId, newChat(s));
          continue;
        }
        chat.title = s.title;
        chat.readSeq = Math.max(chat.readSeq, s.readSeq);
        if (s.lastSeq > chat.countedUpTo) {
          chat.unread = Math.max(0, s.lastSeq - chat.readSeq);
          chat.countedUpTo = s.lastSeq;
        }
        chat.lastSeq = Math.max(chat.lastSeq, s.lastSeq);
      }
    } catch (err) {
      sideError.textContent = `Could not load your chats: ${describe(err)}`;
      return;
    }
    const peers = [...chats.keys()].map((id) => peerOf(id, me)).filter((p): p is string => p !== null);
    client.watch(peers);
    renderList();
    conv.renderHeader();
  }

  /** The open chat is on screen: mark everything shown as read (the sender's blue ticks). */
  function markSeen(chat: ChatItem): void {
    if (conv.current !== chat || document.visibilityState !== "visible") return;
    const newest = Math.max(0, ...chat.messages.keys());
    if (newest > chat.readSeq) client.markRead(chat.chatId, newest);
    chat.readSeq = Math.max(chat.readSeq, newest);
    chat.countedUpTo = Math.max(chat.countedUpTo, newest);
    chat.unread = 0;
    renderList();
  }

  async function openChat(chatId: string): Promise<void> {
    stopTyping();
    const chat = chatFor(chatId);
    renderList();
    await conv.show(chat);
    renderList();
    byId("composer-input").focus();
  }

  client.on("message", (m) => {
    const chat = chatFor(m.chatId);
    if (m.sender === me) chat.pending.delete(m.clientMsgId);
    if (!addMessage(chat, m, me, true)) return;
    if (m.kind === "system" && chat.type === "group" && chat.loaded) void conv.refreshMembers(chat);
    conv.added(m);
    markSeen(chat);
    renderList();
  });
  client.on("receipt", (r) => {
    const chat = chatFor(r.chatId);
    chat.delivered = Math.max(chat.delivered, r.seq);
    if (r.status === "read") chat.read = Math.max(chat.read, r.seq);
    if (conv.current === chat) conv.ticksChanged();
  });
  client.on("read", (r) => {
    const chat = chatFor(r.chatId);
    chat.readSeq = Math.max(chat.readSeq, r.seq);
    chat.unread = r.seq >= chat.lastSeq ? 0 : Math.min(chat.unread, chat.lastSeq - r.seq);
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

  // Sending, keyboard first: Enter sends, Shift+Enter adds a line.
  const input = byId<HTMLTextAreaElement>("composer-input");
  let typingOn = false;
  let typingSentAt = 0;
  let typingIdle: ReturnType<typeof setTimeout> | undefined;
  function stopTyping(): void {
    clearTimeout(typingIdle);
    const chat = conv.current;
    if (typingOn && chat) client.typing(chat.chatId, false);
    typingOn = false;
  }
  input.addEventListener("input", () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
    const chat = conv.current;
    if (!chat || input.value === "") {
      stopTyping();
      return;
    }
    if (!typingOn || Date.now() - typingSentAt > TYPING_REPEAT_MS) {
      client.typing(chat.chatId, true);
      typingOn = true;
      typingSentAt = Date.now();
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      byId<HTMLFormElement>("composer").requestSubmit();
    }
  });
  byId<HTMLFormElement>("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const chat = conv.current;
    const body = input.value.trim();
    if (!chat || body === "") return;
    stopTyping();
    input.value = "";
    input.style.height = "auto";
    const pending: PendingSend = { clientMsgId: newClientMsgId(), body, ts: Date.now() };
    chat.pending.set(pending.clientMsgId, pending);
    conv.pendingAdded(pending);
    client.send(chat.chatId, body, { clientMsgId: pending.clientMsgId }).catch((err: unknown) => {
      pending.failed = `not sent: ${describe(err)}`;
      if (conv.current === chat) conv.pendingFailed(pending);
    });
  });

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
  byId("signout").addEventListener("click", () => {
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

  for (const p of client.pending()) chatFor(p.chatId).pending.set(p.clientMsgId, { ...p, ts: Date.now() });
  void refreshChats().then(() => client.connect());
}

const user = savedUser();
if (user) start(user);
else showSignin();
