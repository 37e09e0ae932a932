/**
 * Notifications for the signed-in device: registers the page's service worker (web/public/sw.js),
 * and the "Enable notifications" / "Disable notifications" button, shown where the browser has
 * Web Push and the server a key. Whether this device turned them on is kept per device, so a
 * second name signed in on the same browser does not inherit the first one's pushes.
 */
import { type ChatClient, ProtocolError } from "../../client";
import { byId } from "./dom";

const ENABLE = "Enable notifications";
const DISABLE = "Disable notifications";

export class PushToggle {
  private readonly button = byId<HTMLButtonElement>("push-toggle");
  private readonly flagKey: string;
  private registration: Promise<ServiceWorkerRegistration> | null = null;
  private on = false;

  constructor(
    private readonly client: ChatClient,
    private readonly showError: (text: string) => void,
  ) {
    this.flagKey = `edge-chat:push:${client.deviceId}`;
    this.button.addEventListener("click", () => void (this.on ? this.disable() : this.enable()));
  }

  /** Registers the worker; shows the button where push works, and renews this device's subscription. */
  async start(): Promise<void> {
    if (!("serviceWorker" in navigator)) return;
    this.registration = navigator.serviceWorker.register("/sw.js").then(() => navigator.serviceWorker.ready);
    this.registration.catch((err: unknown) => console.warn(`edge-chat: no service worker: ${err}`));
    if (!("PushManager" in window) || !("Notification" in window)) return;
    try {
      await this.client.api.pushKey();
    } catch (err) {
      console.warn(`edge-chat: notifications unavailable: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.render();
    this.button.hidden = false;
    const registration = await this.registration;
    const subscribed = (await registration.pushManager.getSubscription()) !== null;
    if (!this.wanted || !subscribed || Notification.permission !== "granted") {
      this.remember(false);
      return;
    }
    // The server may have dropped it (a 410 from the push service) or never got it: tell it again.
    await this.run(() => this.client.enablePush(registration), true);
  }

  /** Sign-out: this device gets no more pushes. */
  async signOut(): Promise<void> {
    if (!this.on || !this.registration) return;
    const registration = await this.registration;
    await this.run(() => this.client.disablePush(registration), false);
  }

  private async enable(): Promise<void> {
    this.showError("");
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      this.showError("Notifications are blocked for this page: allow them in the browser's site settings.");
      return;
    }
    const registration = this.registration;
    if (!registration) return;
    const ok = await this.run(async () => this.client.enablePush(await registration), true);
    if (!ok) this.showError("Could not turn on notifications (see the console for why).");
  }

  private async disable(): Promise<void> {
    this.showError("");
    const registration = this.registration;
    if (!registration) return;
    const ok = await this.run(async () => this.client.disablePush(await registration), false);
    if (!ok) this.showError("Could not turn off notifications (see the console for why).");
  }

  /** Runs a subscribe or unsubscribe with the button disabled; answers whether it worked. */
  private async run(call: () => Promise<unknown>, on: boolean): Promise<boolean> {
    this.button.disabled = true;
    try {
      await call();
      this.remember(on);
      return true;
    } catch (err) {
      const why = err instanceof ProtocolError ? `${err.code}: ${err.message}` : String(err);
      console.warn(`edge-chat: notifications: ${why}`);
      return false;
    } finally {
      this.button.disabled = false;
    }
  }

  private get wanted(): boolean {
    try {
      return localStorage.getItem(this.flagKey) === "on";
    } catch {
      return false;
    }
  }

  private remember(on: boolean): void {
    this.on = on;
    try {
      if (on) localStorage.setItem(this.flagKey, "on");
      else localStorage.removeItem(this.flagKey);
    } catch {
      // Without storage the device asks again after a reload.
    }
    this.render();
  }

  private render(): void {
    const label = this.on ? DISABLE : ENABLE;
    this.button.textContent = label;
    this.button.setAttribute("aria-label", label);
  }
}
