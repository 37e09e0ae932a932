/**
 * The "Block" / "Unblock" button in a direct chat's header, and what the composer says while the
 * peer is blocked. Which users this user blocked comes from the server (`GET /v1/blocks`).
 */
import type { ChatClient } from "../../client";
import { byId } from "./dom";
import { peerOf } from "./format";

type Blocking = Pick<ChatClient, "block" | "unblock" | "blocks">;

export class BlockToggle {
  private readonly button = byId<HTMLButtonElement>("block-toggle");
  private readonly note = byId("block-note");
  private readonly input = byId<HTMLTextAreaElement>("composer-input");
  private readonly placeholder = this.input.placeholder;
  private blocked = new Set<string>();
  private peer: string | null = null;

  constructor(
    private readonly me: string,
    private readonly client: Blocking,
    private readonly showError: (text: string) => void,
  ) {
    this.button.addEventListener("click", () => void this.toggle());
  }

  /** Asks the server whom this user blocked. */
  async load(): Promise<void> {
    try {
      this.blocked = new Set(await this.client.blocks());
    } catch {
      // The button still works; it shows "Block" until the list could be read.
    }
    this.render();
  }

  /** The chat now open in the conversation (a group has no button). */
  show(chatId: string): void {
    this.peer = peerOf(chatId, this.me);
    this.render();
  }

  private async toggle(): Promise<void> {
    const peer = this.peer;
    if (!peer) return;
    const block = !this.blocked.has(peer);
    this.button.disabled = true;
    this.showError("");
    try {
      if (block) await this.client.block(peer);
      else await this.client.unblock(peer);
      if (block) this.blocked.add(peer);
      else this.blocked.delete(peer);
    } catch (err) {
      this.showError(`Could not ${block ? "block" : "unblock"} ${peer}: ${err instanceof Error ? err.message : err}`);
    } finally {
      this.button.disabled = false;
    }
    this.render();
  }

  private render(): void {
    const peer = this.peer;
    this.button.hidden = peer === null;
    const blocked = peer !== null && this.blocked.has(peer);
    const label = blocked ? "Unblock" : "Block";
    this.button.textContent = label;
    this.button.setAttribute("aria-label", peer ? `${label} ${peer}` : label);
    this.button.setAttribute("aria-pressed", String(blocked));
    this.note.hidden = !blocked;
    this.note.textContent = blocked
      ? `You blocked ${peer}. They cannot send you messages or see when you are online until you unblock them.`
      : "";
    this.input.placeholder = blocked ? `You blocked ${peer}` : this.placeholder;
  }
}
