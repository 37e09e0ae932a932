/**
 * Chats the page is asked to open from outside it: a notification click, either as the service
 * worker's `{type: "open-chat", chatId}` message to an open tab, or as `#chat=<chatId>` in the
 * address of a tab the worker opened.
 */

/** Calls `open` for every "open-chat" message of the service worker. */
export function onOpenChatMessage(open: (chatId: string) => void): void {
  navigator.serviceWorker?.addEventListener("message", (event: MessageEvent<unknown>) => {
    const data = event.data;
    if (typeof data !== "object" || data === null) return;
    const { type, chatId } = data as { type?: unknown; chatId?: unknown };
    if (type === "open-chat" && typeof chatId === "string") open(chatId);
  });
}

/** The chat named by `#chat=<chatId>`, taken out of the address so a reload does not reopen it. */
export function takeChatFromAddress(): string | null {
  const chatId = new URLSearchParams(location.hash.slice(1)).get("chat");
  if (chatId !== null) history.replaceState(null, "", `${location.pathname}${location.search}`);
  return chatId || null;
}
