/**
 * Which actions the page offers on a message. The server decides (and refuses what is not
 * allowed); these only keep buttons off messages where they could never work. The windows are
 * the server's defaults (`EDIT_WINDOW_S`, `DELETE_WINDOW_S`): a deployment with shorter ones
 * refuses the late ones, and the page says why.
 */
import type { Message } from "../../client";
import { isReadable } from "./state";

export const EDIT_WINDOW_MS = 900_000;
export const DELETE_WINDOW_MS = 172_800_000;

/** A message that replies, reactions and changes may name: a readable one, not deleted. */
function live(m: Message): boolean {
  return isReadable(m) && !m.deleted;
}

export function canReply(m: Message): boolean {
  return live(m);
}

export function canReact(m: Message): boolean {
  return live(m);
}

/** Own text (or an attachment's caption) while the edit window is open. */
export function canEdit(m: Message, me: string, now: number): boolean {
  return live(m) && m.sender === me && now - m.ts <= EDIT_WINDOW_MS;
}

/** Own messages within the delete window; any message for a group admin. */
export function canDelete(m: Message, me: string, admins: ReadonlySet<string>, now: number): boolean {
  if (!live(m)) return false;
  if (admins.has(me)) return true;
  return m.sender === me && now - m.ts <= DELETE_WINDOW_MS;
}
