/**
 * Reactions on a message: the chips under it (emoji and count; the title says who) and the
 * small picker. One reaction per user: picking another emoji replaces it, and picking (or
 * clicking the chip of) one's own takes it back.
 */
import { h } from "./dom";

export const PICKER_EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🙏"] as const;

/** The emoji `me` reacted with, if any. */
export function ownReaction(reactions: Record<string, string[]> | undefined, me: string): string | undefined {
  for (const [emoji, users] of Object.entries(reactions ?? {})) if (users.includes(me)) return emoji;
  return undefined;
}

/** What reacting with `emoji` sends: the emoji, or `""` when it is already one's own (take it back). */
export function toggled(reactions: Record<string, string[]> | undefined, me: string, emoji: string): string {
  return ownReaction(reactions, me) === emoji ? "" : emoji;
}

function names(users: string[], me: string): string {
  return users.map((u) => (u === me ? "you" : u)).join(", ");
}

/** The chips under a message, or null when nobody reacted. */
export function reactionChips(
  reactions: Record<string, string[]> | undefined,
  me: string,
  react: (emoji: string) => void,
): HTMLDivElement | null {
  const entries = Object.entries(reactions ?? {});
  if (entries.length === 0) return null;
  const chips = entries.map(([emoji, users]) => {
    const mine = users.includes(me);
    const who = names(users, me);
    const chip = h(
      "button",
      {
        type: "button",
        class: mine ? "reaction mine" : "reaction",
        "data-emoji": emoji,
        title: who,
        "aria-pressed": String(mine),
        "aria-label": `${emoji} ${users.length}: ${who}${mine ? " (click to take yours back)" : ""}`,
      },
      h("span", { "aria-hidden": "true" }, emoji),
      h("span", { class: "count", "aria-hidden": "true" }, String(users.length)),
    );
    chip.addEventListener("click", () => react(toggled(reactions, me, emoji)));
    return chip;
  });
  return h("div", { class: "reactions", role: "group", "aria-label": "Reactions" }, ...chips);
}

/** The picker: one button per emoji; the one `me` reacted with is pressed. */
export function reactionPicker(
  reactions: Record<string, string[]> | undefined,
  me: string,
  react: (emoji: string) => void,
): HTMLDivElement {
  const own = ownReaction(reactions, me);
  const buttons = PICKER_EMOJI.map((emoji) => {
    const b = h(
      "button",
      {
        type: "button",
        class: "pick",
        "aria-label": `React with ${emoji}`,
        "aria-pressed": String(own === emoji),
      },
      emoji,
    );
    b.addEventListener("click", () => react(toggled(reactions, me, emoji)));
    return b;
  });
  return h("div", { class: "picker", role: "group", "aria-label": "Pick a reaction" }, ...buttons);
}
