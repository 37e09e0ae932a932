/**
 * Bodies of `system` messages: membership events of a group, as JSON in the message's `body`.
 * The actor is also the message's `sender`.
 */
import type { Message } from "./frames";

export type SystemEvent =
  | {
      event: "created";
      actor: string;
      title: string;
      /** The members; a group of more than `MAX_LISTED_MEMBERS` lists that many and counts all in `memberCount`. */
      members: string[];
      memberCount?: number;
    }
  | { event: "added" | "removed" | "promoted" | "demoted"; actor: string; userId: string }
  | { event: "left"; actor: string };

export function systemBody(event: SystemEvent): string {
  return JSON.stringify(event);
}

/** The event of a system message, or null for a text message or a body this version does not know. */
export function systemEventOf(message: Pick<Message, "kind" | "body">): SystemEvent | null {
  if (message.kind !== "system") return null;
  try {
    const event = JSON.parse(message.body) as { event?: unknown; actor?: unknown };
    return typeof event.event === "string" && typeof event.actor === "string" ? (event as SystemEvent) : null;
  } catch {
    return null;
  }
}
