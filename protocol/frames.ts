/**
 * WebSocket frames of protocol v1: the client's commands (validated with zod) and the
 * server's replies and pushes. Commands may carry an `id`; every reply echoes it.
 */
import * as z from "zod";
import { type MessageKind, refineSendFields, sendFields } from "./entries";
import type { ErrorCode } from "./errors";
import { chatIdSchema, clientMsgIdSchema, userIdSchema } from "./ids";
import { MAX_BODY_BYTES } from "./limits";

const utf8 = new TextEncoder();
const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const frameId = z.string().max(64).optional();

export const bodySchema = z
  .string()
  .refine((b) => utf8.encode(b).byteLength <= MAX_BODY_BYTES, `body over ${MAX_BODY_BYTES} bytes`);

export const sendFrame = z
  .strictObject({
    type: z.literal("send"),
    id: frameId,
    chatId: chatIdSchema,
    clientMsgId: clientMsgIdSchema,
    body: bodySchema,
    ...sendFields,
  })
  .superRefine(refineSendFields);

export const receivedFrame = z.strictObject({
  type: z.literal("received"),
  id: frameId,
  chatId: chatIdSchema,
  seq,
});

export const readFrame = z.strictObject({
  type: z.literal("read"),
  id: frameId,
  chatId: chatIdSchema,
  seq,
});

export const historyFrame = z
  .strictObject({
    type: z.literal("history"),
    id: frameId,
    chatId: chatIdSchema,
    after: seq.optional(),
    before: seq.optional(),
    limit: z.number().int().positive().optional(),
  })
  .refine((f) => f.after === undefined || f.before === undefined, "after and before together");

export const typingFrame = z.strictObject({
  type: z.literal("typing"),
  id: frameId,
  chatId: chatIdSchema,
  on: z.boolean(),
});

export const watchFrame = z.strictObject({
  type: z.literal("watch"),
  id: frameId,
  userIds: z.array(userIdSchema).max(1024),
});

export const pingFrame = z.strictObject({ type: z.literal("ping"), id: frameId });

export const clientFrameSchema = z.discriminatedUnion("type", [
  sendFrame,
  receivedFrame,
  readFrame,
  historyFrame,
  typingFrame,
  watchFrame,
  pingFrame,
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type SendFrame = z.infer<typeof sendFrame>;
export type HistoryFrame = z.infer<typeof historyFrame>;
export const CLIENT_FRAME_TYPES = ["send", "received", "read", "history", "typing", "watch", "ping"] as const;

export type { MessageKind } from "./entries";

/** An attachment as a stored message carries it. */
export interface AttachmentInfo {
  id: string;
  size: number;
  contentType: string;
  name: string;
}

/**
 * A stored message: an entry of the chat's log. `edited`, `deleted` and `reactions` describe
 * its current state (set only when they apply); `target` names the message an edit, delete or
 * reaction changes, `replyTo` the one a message quotes.
 */
export interface Message {
  chatId: string;
  seq: number;
  sender: string;
  clientMsgId: string;
  body: string;
  ts: number;
  kind: MessageKind;
  target?: number;
  replyTo?: number;
  attachment?: AttachmentInfo;
  edited?: true;
  deleted?: true;
  /** Emoji → the users who reacted with it, in the order they did. */
  reactions?: Record<string, string[]>;
}

/**
 * In a history page, the seqs `seq..through` of a group that the caller may not see (v1.1
 * history visibility): one row per run, clipped to the page, so seqs stay gapless.
 */
export interface HiddenRow {
  chatId: string;
  seq: number;
  kind: "hidden";
  through: number;
}

/** A row of a history page: a message, or a run of seqs hidden from the caller. */
export type HistoryRow = Message | HiddenRow;

export interface ChatCursor {
  chatId: string;
  lastSeq: number;
  readSeq: number;
  /** Text and attachment messages from others after `readSeq` that are not deleted. */
  unread: number;
  /** The ticks of the user's own messages: delivered and read up to these seqs (as `receipt` frames say). */
  receipts: { delivered: number; read: number };
}

export type ReceiptStatus = "delivered" | "read";

export type ServerFrame =
  | { type: "ready"; userId: string; deviceId: string; chats: ChatCursor[] }
  | { type: "ack"; id?: string; chatId: string; clientMsgId: string; seq: number; ts: number }
  | { type: "history"; id?: string; chatId: string; messages: HistoryRow[]; more: boolean }
  | ({ type: "message" } & Message)
  | { type: "receipt"; chatId: string; seq: number; status: ReceiptStatus; by?: string }
  | { type: "read"; chatId: string; seq: number }
  | { type: "typing"; chatId: string; userId: string; on: boolean }
  | { type: "presence"; userId: string; online: boolean; lastSeen: number | null }
  | { type: "pong"; id?: string }
  | { type: "error"; code: ErrorCode; message: string; id?: string };

/** The exact bytes of a ping and its pong, answered by the runtime without waking the object. */
export const PING = '{"type":"ping"}';
export const PONG = '{"type":"pong"}';
