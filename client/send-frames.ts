/** Outbox entries as `send` frames, and the check that refuses a send the server would refuse. */

import { ProtocolError } from "../protocol/errors";
import { type Message, type SendFrame, sendFrame } from "../protocol/frames";
import { describeIssues, isBodyTooLarge } from "../protocol/parse";
import type { OutboxEntry } from "./outbox";

/** Stands for the upload id while a file's message is checked, before the upload has one. */
export const PLACEHOLDER_ATTACHMENT = { id: "a".repeat(26), size: 1, contentType: "text/plain", name: "file" };

/** Why the server would refuse this send (as a `ProtocolError`), or null. */
export function problemOf(entry: OutboxEntry): ProtocolError | null {
  const check = sendFrame.safeParse(sendFrameOf(entry));
  if (check.success) return null;
  return new ProtocolError(isBodyTooLarge(check.error) ? "too_large" : "bad_request", describeIssues(check.error));
}

/** The `send` frame of an outbox entry (a text has no `kind`, as in v1; a file is named by its id). */
export function sendFrameOf(entry: OutboxEntry, id?: string): SendFrame {
  const { chatId, clientMsgId, body, kind, target, replyTo, attachment } = entry;
  const frame: SendFrame = { type: "send", chatId, clientMsgId, body };
  if (id !== undefined) frame.id = id;
  if (kind !== undefined) frame.kind = kind;
  if (target !== undefined) frame.target = target;
  if (replyTo !== undefined) frame.replyTo = replyTo;
  if (attachment !== undefined) frame.attachment = { id: attachment.id };
  return frame;
}

/**
 * The stored message an `ack` stands for: the server sends the sending device an ack instead of
 * a copy, and it carries every field the server stored, so a view applies an own change as others' do.
 */
export function ownMessageOf(entry: OutboxEntry, ack: { seq: number; ts: number }, sender: string): Message {
  const { chatId, clientMsgId, body } = entry;
  const own: Message = { chatId, seq: ack.seq, sender, clientMsgId, body, ts: ack.ts, kind: entry.kind ?? "text" };
  if (entry.target !== undefined) own.target = entry.target;
  if (entry.replyTo !== undefined) own.replyTo = entry.replyTo;
  if (entry.attachment !== undefined) own.attachment = entry.attachment;
  return own;
}
