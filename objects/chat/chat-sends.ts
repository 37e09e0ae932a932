/**
 * What members send into a chat, stored: each item under the next seq, in one transaction with
 * the rules of its kind (`./changes`), the upload an attachment message names, and what a change
 * does to its target. The chat object hands items here after its membership check.
 */
import type { Message } from "../../protocol";
import type { Ack, SendItem } from "../contracts";
import { type Outcome, ok, refuse } from "../outcome";
import { takesOwnCopy } from "../own-copies";
import type { Settings } from "../settings";
import { applyChange, type ChangeStatements, refusalOf } from "./changes";
import type { ChatAttachments } from "./chat-attachments";
import type { ChatState } from "./chat-core";
import { type ChatDb, type ChatTx, type Entry, findSend, type LogStatements, readMessage } from "./log";
import { type Stretch, sees, stretchesOf } from "./visibility";

/** What storing sends uses of the chat object. */
export interface SendsHost {
  readonly db: ChatDb;
  readonly log: LogStatements;
  readonly changes: ChangeStatements;
  readonly settings: Settings;
  readonly attachments: ChatAttachments;
  /** The chat object's commit: one transaction, then fan-out of what it stored. */
  commit<T>(
    write: (tx: ChatTx, append: (entry: Entry) => Message, tryAppend: (entry: Entry) => Message | null) => T,
    ownCopies: ReadonlySet<number>,
  ): T;
  /** Delivers already stored messages again to `userIds` (after a resend). */
  redeliver(userIds: string[], messages: Message[]): void;
  /** Writes the members' watermarks waiting for their commit now, so that they share the send's. */
  rideAlong(): void;
}

export class ChatSends {
  constructor(private readonly host: SendsHost) {}

  /**
   * Stores `items` of `sender` in order and answers one outcome each, after the commit: an ack
   * built from what was stored, the first ack for a (sender, clientMsgId) seen before, or the
   * refusal of an item the rules refuse (which stores nothing).
   */
  async store(chat: ChatState, sender: string, items: SendItem[]): Promise<Outcome<Ack>[]> {
    const { db, log, changes, settings, attachments } = this.host;
    const ownCopies = new Set<number>();
    const resent: Message[] = [];
    const erased: string[] = [];
    const resend = (seq: number): Outcome<Ack> => {
      const message = readMessage(db, chat.chatId, seq) as Message;
      resent.push(message);
      return ok({ seq: message.seq, ts: message.ts, duplicate: true, message });
    };
    const now = Date.now();
    // Read once per batch, and only for a batch that names a message.
    let visible: { stretches: Stretch[] | null } | undefined;
    const acks = this.host.commit(
      (_tx, _append, tryAppend) =>
        items.map((item): Outcome<Ack> => {
          const { clientMsgId, body, kind = "text", target, replyTo } = item;
          const entry: Entry = { sender, body, kind, clientMsgId, target, replyTo };
          if (kind !== "text" || replyTo !== undefined) {
            // A resend is answered as the first send was, even once the rules would refuse it.
            const first = findSend(log, sender, clientMsgId);
            if (first) return resend(first.seq);
            // A message hidden from the sender (history visibility) is not one it can name.
            const named = kind === "text" ? replyTo : target;
            visible ??= { stretches: stretchesOf(db, chat, sender) };
            if (named !== undefined && !sees(visible.stretches, named))
              return refuse("not_found", `no message ${named} in this chat that you can see`);
            const refusal = refusalOf(log, chat, sender, item, now, settings);
            if (refusal) return refusal;
            if (kind === "attachment") {
              const file = attachments.forSend(sender, item.attachment?.id ?? "");
              if (!file.ok) return file;
              entry.attachment = file.value;
            }
          }
          const m = tryAppend(entry);
          if (!m) return resend((findSend(log, sender, clientMsgId) as { seq: number }).seq);
          if (m.attachment) attachments.sent(m.attachment.id, m.seq);
          const gone = applyChange(changes, m);
          if (gone) {
            attachments.forget(gone);
            erased.push(gone);
          }
          if (takesOwnCopy(item)) ownCopies.add(m.seq);
          return ok({ seq: m.seq, ts: m.ts, duplicate: false, message: m });
        }),
      ownCopies,
    );
    // Written in the same synchronous run as the sends: one commit for both.
    this.host.rideAlong();
    // A resend means its first ack may have been lost, and with it the sender object's copy.
    if (resent.length > 0)
      this.host.redeliver(
        [sender],
        resent.sort((a, b) => a.seq - b.seq),
      );
    // A deleted message's file: its bytes go once the delete is durable.
    if (erased.length > 0) await attachments.deleteBytes(chat.chatId, erased);
    return acks;
  }
}
