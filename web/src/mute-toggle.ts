/**
 * The "Mute" / "Unmute" button in the open chat's header: no pushes from the chat (with no end)
 * until unmuted. The server has no route that reads mutes back, so the page remembers which
 * chats this user muted in this browser.
 */
import type { ChatApi } from "../../client";
import { byId } from "./dom";

export class MuteToggle {
  private readonly button = byId<HTMLButtonElement>("mute-toggle");
  private readonly key: string;
  private chatId: string | null = null;

  constructor(
    me: string,
    private readonly api: ChatApi,
    private readonly showError: (text: string) => void,
  ) {
    this.key = `edge-chat:muted:${me}`;
    this.button.addEventListener("click", () => void this.toggle());
  }

  /** The chat now open in the conversation. */
  show(chatId: string): void {
    this.chatId = chatId;
    this.button.hidden = false;
    this.render();
  }

  private async toggle(): Promise<void> {
    const chatId = this.chatId;
    if (!chatId) return;
    const mute = !this.muted().has(chatId);
    this.button.disabled = true;
    this.showError("");
    try {
      if (mute) await this.api.mute(chatId, null);
      else await this.api.unmute(chatId);
      const muted = this.muted();
      if (mute) muted.add(chatId);
      else muted.delete(chatId);
      this.save(muted);
    } catch (err) {
      this.showError(`Could not ${mute ? "mute" : "unmute"} the chat: ${err instanceof Error ? err.message : err}`);
    } finally {
      this.button.disabled = false;
    }
    if (this.chatId === chatId) this.render();
  }

  private render(): void {
    const label = this.chatId && this.muted().has(this.chatId) ? "Unmute" : "Mute";
    this.button.textContent = label;
    this.button.setAttribute("aria-label", label);
  }

  private muted(): Set<string> {
    try {
      const saved: unknown = JSON.parse(localStorage.getItem(this.key) ?? "[]");
      return new Set(Array.isArray(saved) ? saved.filter((id): id is string => typeof id === "string") : []);
    } catch {
      return new Set();
    }
  }

  private save(muted: Set<string>): void {
    try {
      localStorage.setItem(this.key, JSON.stringify([...muted]));
    } catch {
      // Without storage the button forgets after a reload; the server still holds the mute.
    }
  }
}
