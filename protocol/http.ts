/** Bodies and query strings of the HTTP routes of protocol v1. */
import { z } from "zod";
import { bodySchema } from "./frames";
import { clientMsgIdSchema, userIdSchema } from "./ids";
import { MAX_GROUP_MEMBERS_CAP, MAX_TITLE_LENGTH } from "./limits";

export const createChatBody = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("direct"), with: userIdSchema }),
  z.strictObject({
    type: z.literal("group"),
    title: z.string().trim().min(1).max(MAX_TITLE_LENGTH),
    // The deployment's MAX_GROUP_MEMBERS is checked by the chat; this only bounds the body.
    members: z.array(userIdSchema).max(MAX_GROUP_MEMBERS_CAP).default([]),
  }),
]);

export const roleSchema = z.enum(["admin", "member"]);
/** A group member's role: admins add, remove and promote. */
export type Role = z.infer<typeof roleSchema>;

export const addMemberBody = z.strictObject({ userId: userIdSchema, role: roleSchema.optional() });

export const setRoleBody = z.strictObject({ role: roleSchema });

export const sendMessageBody = z.strictObject({ clientMsgId: clientMsgIdSchema, body: bodySchema });

const seqParam = z
  .string()
  .regex(/^\d{1,15}$/, "a whole number")
  .transform(Number);

export const historyQuery = z
  .object({ after: seqParam.optional(), before: seqParam.optional(), limit: seqParam.optional() })
  .refine((q) => q.after === undefined || q.before === undefined, "after and before together")
  .refine((q) => q.limit === undefined || q.limit > 0, "limit must be positive");

export const devTokenBody = z.strictObject({ userId: userIdSchema });
