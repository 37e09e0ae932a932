/**
 * Which device sent a recently acked message, so that a gap refill in the user object does not
 * push that message back to the device that sent it.
 */
const RECENT_SENDS = 4_096;

/** A bounded map of (chat, seq) → sending device, oldest forgotten first; memory only. */
export class RecentSends {
  private readonly devices = new Map<string, string>();

  note(chatId: string, seq: number, deviceId: string): void {
    this.devices.set(`${chatId}#${seq}`, deviceId);
    if (this.devices.size > RECENT_SENDS) {
      const oldest = this.devices.keys().next().value;
      if (oldest !== undefined) this.devices.delete(oldest);
    }
  }

  take(chatId: string, seq: number): string | undefined {
    const key = `${chatId}#${seq}`;
    const device = this.devices.get(key);
    this.devices.delete(key);
    return device;
  }
}
