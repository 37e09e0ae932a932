/** Bodies and query strings of the HTTP routes of protocol v1. */
import { z } from "zod";
import { refineSendFields, sendFields } from "./entries";
import { bodySchema, type HistoryRow } from "./frames";
import { type ChatType, clientMsgIdSchema, jurisdictionSchema, userIdSchema } from "./ids";
import { MAX_GROUP_MEMBERS_CAP, MAX_TITLE_LENGTH } from "./limits";

/** A group's history visibility (v1.1): `joined` shows members the log from their join on. */
export const HISTORY_MODES = ["joined", "shared"] as const;
export type HistoryMode = (typeof HISTORY_MODES)[number];

export const createChatBody = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("direct"), with: userIdSchema }),
  z.strictObject({
    type: z.literal("group"),
    title: z.string().trim().min(1).max(MAX_TITLE_LENGTH),
    // The deployment's MAX_GROUP_MEMBERS is checked by the chat; this only bounds the body.
    members: z.array(userIdSchema).max(MAX_GROUP_MEMBERS_CAP).default([]),
    // Who sees what was said before joining: only members from their join on, or everyone.
    history: z.enum(HISTORY_MODES).default("joined"),
    // Where the group's data is kept; without it the deployment's DATA_JURISDICTION applies.
    jurisdiction: jurisdictionSchema.optional(),
  }),
]);

export const roleSchema = z.enum(["admin", "member"]);
/** A group member's role: admins add, remove and promote. */
export type Role = z.infer<typeof roleSchema>;

export const addMemberBody = z.strictObject({ userId: userIdSchema, role: roleSchema.optional() });

export const setRoleBody = z.strictObject({ role: roleSchema });

export const sendMessageBody = z
  .strictObject({ clientMsgId: clientMsgIdSchema, body: bodySchema, ...sendFields })
  .superRefine(refineSendFields);

const seqParam = z
  .string()
  .regex(/^\d{1,15}$/, "a whole number")
  .transform(Number);

export const historyQuery = z
  .object({ after: seqParam.optional(), before: seqParam.optional(), limit: seqParam.optional() })
  .refine((q) => q.after === undefined || q.before === undefined, "after and before together")
  .refine((q) => q.limit === undefined || q.limit > 0, "limit must be positive");

export const devTokenBody = z.strictObject({ userId: userIdSchema });

/** `GET /v1/chats`: one row per chat of the caller. */
export interface ChatSummary {
  chatId: string;
  type: ChatType;
  title: string | null;
  lastSeq: number;
  readSeq: number;
  /** Text and attachment messages from others after `readSeq` that are not deleted. */
  unread: number;
  /** The ticks of the caller's own messages: delivered and read up to these seqs (as `receipt` frames say). */
  receipts: { delivered: number; read: number };
}

/** `GET /v1/chats/:chatId`. */
export interface ChatDetails {
  chatId: string;
  type: ChatType;
  title: string | null;
  members: { userId: string; role: Role }[];
}

/** `GET /v1/chats/:chatId/messages` (and the `history` frame's query and page). */
export interface HistoryQuery {
  after?: number;
  before?: number;
  limit?: number;
}

export interface HistoryPage {
  messages: HistoryRow[];
  more: boolean;
}

/** `GET /v1/chats/:chatId/messages/:seq/receipts`: who holds and who has read one message. */
export interface MessageReceipts {
  seq: number;
  delivered: string[];
  read: string[];
}

/** `GET /v1/users/:userId/presence`. */
export interface Presence {
  userId: string;
  online: boolean;
  lastSeen: number | null;
}

/** `PUT /v1/devices/:deviceId/push`: a browser's `PushSubscription.toJSON()` (its `expirationTime` is ignored). */
export const pushSubscriptionBody = z.strictObject({
  endpoint: z.string().min(1).max(2_048),
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({ p256dh: z.string().min(1).max(200), auth: z.string().min(1).max(100) }),
});

export const lastSeenRule = z.enum(["everyone", "chats", "nobody"]);

/** `GET /v1/me/settings`. */
export interface PrivacySettings {
  lastSeen: z.infer<typeof lastSeenRule>;
  readReceipts: boolean;
}

/** `PATCH /v1/me/settings`: some or all of the settings. */
export const settingsPatchBody = z.strictObject({
  lastSeen: lastSeenRule.optional(),
  readReceipts: z.boolean().optional(),
});

/** `PUT /v1/chats/:chatId/mute`: muted until `until` (ms since the epoch), or with no end (`null`). */
export const muteBody = z.strictObject({ until: z.number().int().nonnegative().max(8.64e15).nullable() });
