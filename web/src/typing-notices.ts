/**
 * Typing notices from the composer: on while the box changes (a new message or a reply, not an
 * edit), repeated every few seconds while typing goes on, off when idle or once sent.
 */
import type { ChatClient } from "../../client";
import type { Composer } from "./composer";
import type { Conversation } from "./conversation";

const TYPING_IDLE_MS = 4_000;
const TYPING_REPEAT_MS = 3_000;

export class TypingNotices {
  private on = false;
  private sentAt = 0;
  private idle: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly client: ChatClient,
    private readonly conv: Conversation,
    private readonly composer: Composer,
  ) {
    const input = composer.input;
    input.addEventListener("input", () => {
      const chat = this.conv.current;
      if (!chat || input.value === "" || this.composer.mode.kind === "edit") {
        this.stop();
        return;
      }
      if (!this.on || Date.now() - this.sentAt > TYPING_REPEAT_MS) {
        this.client.typing(chat.chatId, true);
        this.on = true;
        this.sentAt = Date.now();
      }
      clearTimeout(this.idle);
      this.idle = setTimeout(() => this.stop(), TYPING_IDLE_MS);
    });
  }

  /** Ends the notice in the open chat (sent, idle, or another chat opened). */
  stop(): void {
    clearTimeout(this.idle);
    const chat = this.conv.current;
    if (this.on && chat) this.client.typing(chat.chatId, false);
    this.on = false;
  }
}
