/**
 * The rule for a user's own messages, in one place: the device that sent a message has its ack
 * and never gets the message pushed back; the user's other devices get it like any message.
 * - The chat does not deliver a socket send back to its sender's object (`takesOwnCopy`): that
 *   object takes its copy from the ack, which saves a call per send.
 * - The sender's object remembers which device sent each acked message (`OwnCopies`), because
 *   a gap refill may fetch that message from the log before or after its copy arrives.
 */
import type { Message } from "../protocol";
import type { SendItem } from "./contracts";

/** Whether the sender's object takes this send's stored message from its ack. */
export function takesOwnCopy(item: SendItem): boolean {
  return item.deviceId !== undefined;
}

const REMEMBERED = 4_096;

/** A bounded map of (chat, seq) → sending device, oldest forgotten first; memory only. */
export class OwnCopies {
  private readonly devices = new Map<string, string>();

  /** `deviceId` sent `message` and has its ack. */
  note(message: Message, deviceId: string): void {
    this.devices.set(`${message.chatId}#${message.seq}`, deviceId);
    if (this.devices.size > REMEMBERED) {
      const oldest = this.devices.keys().next().value;
      if (oldest !== undefined) this.devices.delete(oldest);
    }
  }

  /** The device of `userId` that must not get `message` pushed: the one that sent it, if known. */
  senderDevice(userId: string, message: Message): string | undefined {
    if (message.sender !== userId) return undefined;
    const key = `${message.chatId}#${message.seq}`;
    const device = this.devices.get(key);
    this.devices.delete(key);
    return device;
  }
}
