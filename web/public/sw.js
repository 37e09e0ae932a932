/**
 * The demo page's service worker: Web Push (protocol v1.1). A push becomes a notification, one
 * per chat (`tag`: a newer message of the chat replaces the older one and alerts again); a click
 * on it brings a tab of the page forward and has it open that chat, or opens a tab at
 * `/#chat=<chatId>`. Plain JavaScript, served as it is.
 */

self.addEventListener("install", () => self.skipWaiting());
// Tabs opened before the worker existed get its clicks too (matchAll below includes them anyway).
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.onpush = (event) => {
  event.waitUntil(showPush(event.data));
};

self.onnotificationclick = (event) => {
  event.notification.close();
  const chatId = event.notification.data?.chatId;
  event.waitUntil(openChat(typeof chatId === "string" ? chatId : null));
};

/** The payload `{chatId, seq, sender, kind, title?, body}`, or null when it is not one. */
function payloadOf(data) {
  try {
    const p = data?.json();
    if (typeof p?.chatId === "string" && typeof p.sender === "string" && typeof p.body === "string") return p;
  } catch {
    // Not JSON: shown as a bare notice below.
  }
  return null;
}

function showPush(data) {
  const p = payloadOf(data);
  // `userVisibleOnly`: every push must show something, even one this page cannot read.
  if (!p) return self.registration.showNotification("edge-chat", { body: "New message" });
  const title = typeof p.title === "string" ? `${p.sender} in ${p.title}` : p.sender;
  const body = p.kind === "attachment" ? `📎 ${p.body}` : p.body;
  return self.registration.showNotification(title, {
    body,
    tag: p.chatId,
    renotify: true,
    data: { chatId: p.chatId, seq: p.seq },
  });
}

/** Brings the best tab forward and tells it to open the chat; opens a tab when there is none. */
async function openChat(chatId) {
  const tabs = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const tab = tabs.find((t) => t.focused) ?? tabs.find((t) => t.visibilityState === "visible") ?? tabs[0];
  if (!tab) {
    const url = new URL(chatId ? `/#chat=${encodeURIComponent(chatId)}` : "/", self.registration.scope);
    await self.clients.openWindow(url.href);
    return;
  }
  if (chatId) tab.postMessage({ type: "open-chat", chatId });
  await tab.focus();
}
