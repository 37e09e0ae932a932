/**
 * Kinds of log entries (protocol v1.1, "Message kinds and relations"): what a `send` may carry
 * besides its body, and the rule that says which fields each kind needs. Written once for the
 * `send` frame, the HTTP send body and the SDK.
 */
import * as z from "zod";
import { attachmentIdSchema } from "./ids";

/** Kinds a client may send. `system` entries are written by the chat itself. */
export const SENDABLE_KINDS = ["text", "attachment", "edit", "delete", "reaction"] as const;
export type SendableKind = (typeof SENDABLE_KINDS)[number];

/** Every kind a stored message may have. */
export type MessageKind = SendableKind | "system";

/** Kinds that change another message (`target`) instead of saying something new. */
export const CHANGE_KINDS: ReadonlySet<MessageKind> = new Set(["edit", "delete", "reaction"]);

/** Kinds that are a message people read: they count as unread, and replies and changes may name them. */
export const READABLE_KINDS: ReadonlySet<MessageKind> = new Set(["text", "attachment"]);

/** A reaction's emoji: 1 to 32 bytes of UTF-8. */
export const MAX_REACTION_BYTES = 32;

const utf8 = new TextEncoder();
const seqRef = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** The fields a send adds to its body, validated by `checkSendFields`. */
export const sendFields = {
  kind: z.enum(SENDABLE_KINDS).optional(),
  target: seqRef.optional(),
  replyTo: seqRef.optional(),
  /** An upload of this chat by the sender, not sent yet (`kind: "attachment"`). */
  attachment: z.strictObject({ id: attachmentIdSchema }).optional(),
};

interface SendShape {
  kind?: SendableKind;
  body: string;
  target?: number;
  replyTo?: number;
  attachment?: { id: string };
}

// One emoji: a pictograph with its modifiers and joined parts, a flag (two regional indicators),
// a tag sequence, or a keycap.
const PICTOGRAPH = String.raw`[\p{Extended_Pictographic}\p{Emoji_Presentation}]`;
const PART = String.raw`(?:\p{Emoji_Modifier}|\uFE0F|[\u{E0020}-\u{E007F}]|\u200D${PICTOGRAPH})`;
const EMOJI = new RegExp(String.raw`^(?:[#*0-9]\uFE0F?\u20E3|\p{RI}\p{RI}|${PICTOGRAPH}${PART}*)$`, "u");

/** Whether `text` is exactly one emoji of at most `MAX_REACTION_BYTES` bytes. */
export function isOneEmoji(text: string): boolean {
  const bytes = utf8.encode(text).byteLength;
  return bytes >= 1 && bytes <= MAX_REACTION_BYTES && EMOJI.test(text);
}

/**
 * Why a send's fields do not fit its kind, or null when they do: a change names a `target` and
 * no `replyTo`; a delete has an empty body; a reaction is one emoji or `""`; text names no target.
 */
export function sendFieldsProblem(send: SendShape): string | null {
  const kind = send.kind ?? "text";
  if (kind !== "attachment" && send.attachment !== undefined) return 'only kind "attachment" carries an attachment';
  if (kind === "text" || kind === "attachment") {
    if (send.target !== undefined) return `a ${kind} message has no target (use replyTo to quote one)`;
    if (kind === "attachment" && send.attachment === undefined)
      return "an attachment message names its upload: attachment: {id}";
    return null;
  }
  if (send.target === undefined) return `a ${kind} needs a target: the seq of the message it changes`;
  if (send.replyTo !== undefined) return `a ${kind} cannot reply to a message`;
  if (kind === "edit" && send.body.length === 0)
    return "an edit needs the new text (to take a message back, delete it)";
  if (kind === "delete" && send.body !== "") return 'a delete has an empty body ("")';
  if (kind === "reaction" && send.body !== "" && !isOneEmoji(send.body))
    return `a reaction is one emoji of at most ${MAX_REACTION_BYTES} bytes, or "" to take it back`;
  return null;
}

/** Adds `sendFieldsProblem` to a schema of a send (frame or HTTP body) as a zod issue. */
export function refineSendFields(send: SendShape, ctx: z.RefinementCtx): void {
  const problem = sendFieldsProblem(send);
  if (problem) ctx.addIssue({ code: "custom", message: problem, path: ["kind"] });
}
