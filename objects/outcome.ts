/**
 * Results of calls between the Worker and the objects. Workers RPC keeps only an error's
 * message, so refusals travel as values that carry their protocol error code.
 */
import type { ErrorCode } from "../protocol";

export type Refusal = { ok: false; code: ErrorCode; message: string };
export type Outcome<T> = { ok: true; value: T } | Refusal;

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function refuse(code: ErrorCode, message: string): Refusal {
  return { ok: false, code, message };
}

/** What a chat object refuses to anyone outside it: the same answer whether or not it exists. */
export const NOT_A_MEMBER: Refusal = refuse("forbidden", "not a member of this chat");
