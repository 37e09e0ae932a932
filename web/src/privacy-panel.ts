/**
 * The privacy panel in the sidebar: who sees when this user was last online (everyone, people it
 * shares a chat with, nobody) and whether its reads give blue ticks. Read from and saved to
 * `/v1/me/settings`; the controls show what the server answered.
 */
import type { ChatClient, PrivacySettings, SettingsPatch } from "../../client";
import { byId } from "./dom";

type Settings = Pick<ChatClient, "settings" | "updateSettings">;

export class PrivacyPanel {
  private readonly form = byId<HTMLFormElement>("privacy-form");
  private readonly lastSeen = byId<HTMLSelectElement>("last-seen");
  private readonly readReceipts = byId<HTMLInputElement>("read-receipts");
  private readonly error = byId("privacy-error");
  private current: PrivacySettings | null = null;

  constructor(private readonly client: Settings) {
    this.form.addEventListener("submit", (event) => event.preventDefault());
    this.lastSeen.addEventListener("change", () => {
      const value = this.lastSeen.value;
      if (value === "everyone" || value === "chats" || value === "nobody") void this.save({ lastSeen: value });
    });
    this.readReceipts.addEventListener("change", () => void this.save({ readReceipts: this.readReceipts.checked }));
  }

  async load(): Promise<void> {
    this.setBusy(true);
    try {
      this.show(await this.client.settings());
      this.error.textContent = "";
    } catch (err) {
      this.error.textContent = `Could not load your privacy settings: ${messageOf(err)}`;
    } finally {
      this.setBusy(this.current === null);
    }
  }

  private async save(patch: SettingsPatch): Promise<void> {
    this.setBusy(true);
    this.error.textContent = "";
    try {
      this.show(await this.client.updateSettings(patch));
    } catch (err) {
      this.error.textContent = `Could not save: ${messageOf(err)}`;
      if (this.current) this.show(this.current);
    } finally {
      this.setBusy(false);
    }
  }

  private show(settings: PrivacySettings): void {
    this.current = settings;
    this.lastSeen.value = settings.lastSeen;
    this.readReceipts.checked = settings.readReceipts;
  }

  private setBusy(busy: boolean): void {
    this.lastSeen.disabled = busy;
    this.readReceipts.disabled = busy;
    this.form.setAttribute("aria-busy", String(busy));
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
