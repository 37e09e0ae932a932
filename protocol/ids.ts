/**
 * Identifiers of the protocol: users, devices, client message ids and chat ids.
 * Direct chat ids are derived from the two user ids, so both sides compute the same id.
 * A group kept in a jurisdiction names it in its id (`g~eu~...`), so every route finds it there.
 */
import * as z from "zod";

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export const userIdSchema = z.string().regex(NAME, "1 to 64 characters of [A-Za-z0-9_.-]");
export const deviceIdSchema = userIdSchema;
export const clientMsgIdSchema = z.string().min(1).max(64);

// `~` cannot appear in a user id, so the two halves of a direct id are unambiguous.
const DIRECT = /^d~([A-Za-z0-9_.-]{1,64})~([A-Za-z0-9_.-]{1,64})$/;
const GROUP = /^g~(?:([a-z]+)~)?[a-z2-7]{20}$/;

/**
 * The jurisdictions a group's data may be kept in: those where both Durable Objects and R2
 * buckets can be restricted (`fedramp-high` has no R2 bucket, so its files could not follow).
 */
export const JURISDICTIONS = ["eu", "fedramp"] as const;
export type Jurisdiction = (typeof JURISDICTIONS)[number];
export const jurisdictionSchema = z.enum(JURISDICTIONS, {
  error: `jurisdiction must be one of: ${JURISDICTIONS.join(", ")}`,
});

export function isJurisdiction(value: string): value is Jurisdiction {
  return JURISDICTIONS.some((j) => j === value);
}

/** Whether `id` is a well-formed group id, with no jurisdiction or one that is offered. */
function isGroupChatId(id: string): boolean {
  const m = GROUP.exec(id);
  return m !== null && (m[1] === undefined || isJurisdiction(m[1]));
}

export const chatIdSchema = z
  .string()
  .max(140)
  .refine((id) => isDirectChatId(id) || isGroupChatId(id), "not a chat id");

export type ChatType = "direct" | "group";

/** The id of the direct chat between two users, the same whichever of them asks. */
export function directChatId(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `d~${x}~${y}`;
}

/** The two members of a direct chat id, or null when it is not a well-formed one. */
export function directChatMembers(chatId: string): [string, string] | null {
  const m = DIRECT.exec(chatId);
  if (!m?.[1] || !m[2] || m[1] > m[2]) return null;
  return [m[1], m[2]];
}

export function isDirectChatId(chatId: string): boolean {
  return directChatMembers(chatId) !== null;
}

export function chatTypeOf(chatId: string): ChatType {
  return chatId.startsWith("d~") ? "direct" : "group";
}

function randomBase32(length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let out = "";
  for (const b of crypto.getRandomValues(new Uint8Array(length))) out += alphabet[b & 31];
  return out;
}

/** A fresh random group chat id: `g~`, the jurisdiction and `~` if any, and 20 base-32 characters (100 bits). */
export function newGroupChatId(jurisdiction?: Jurisdiction): string {
  return jurisdiction ? `g~${jurisdiction}~${randomBase32(20)}` : `g~${randomBase32(20)}`;
}

/** The jurisdiction a chat's data is kept in, named by its id; undefined for direct chats and other groups. */
export function jurisdictionOf(chatId: string): Jurisdiction | undefined {
  const j = GROUP.exec(chatId)?.[1];
  return j !== undefined && isJurisdiction(j) ? j : undefined;
}

/** A fresh attachment id: 26 base-32 characters (130 bits), not guessable. */
export function newAttachmentId(): string {
  return randomBase32(26);
}

export const attachmentIdSchema = z.string().regex(/^[a-z2-7]{26}$/, "not an attachment id");
