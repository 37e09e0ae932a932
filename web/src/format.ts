/** Words for the page: chat titles, times, "last seen", typing lines, quoted snippets. */
import { directChatMembers } from "../../client";

export function chatTitle(chat: { chatId: string; title: string | null }, me: string): string {
  if (chat.title) return chat.title;
  const pair = directChatMembers(chat.chatId);
  if (!pair) return chat.chatId;
  return pair[0] === me ? pair[1] : pair[0];
}

/** The other user of a direct chat, or null for a group. */
export function peerOf(chatId: string, me: string): string | null {
  const pair = directChatMembers(chatId);
  if (!pair) return null;
  return pair[0] === me ? pair[1] : pair[0];
}

/** What a deleted message says in its place. */
export const deletedText = "This message was deleted";

/** What a message says in one line: its text, or for a file its caption or else what it is. */
export function messageText(m: { body: string; attachment?: { name: string; contentType: string } }): string {
  const file = m.attachment;
  if (!file) return m.body;
  if (file.contentType.startsWith("image/")) return `📷 ${m.body || "Photo"}`;
  return `📎 ${m.body || file.name}`;
}

/** The first words of `text`, on one line, for a quote: at most `max` characters. */
export function snippet(text: string, max = 60): string {
  const chars = [...text.replace(/\s+/g, " ").trim()];
  if (chars.length <= max) return chars.join("");
  // Code points, not UTF-16 units: an emoji is never cut in half.
  const cut = chars.slice(0, max).join("");
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function clock(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** "online", "last seen just now", "last seen 5 min ago", "last seen yesterday at 14:03"... */
export function presenceLine(p: { online: boolean; lastSeen: number | null } | undefined, now = Date.now()): string {
  if (!p) return "";
  if (p.online) return "online";
  if (p.lastSeen === null) return "offline";
  const minutes = Math.floor((now - p.lastSeen) / 60_000);
  if (minutes < 1) return "last seen just now";
  if (minutes < 60) return `last seen ${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `last seen ${hours} h ago`;
  const day = new Date(p.lastSeen);
  const date = hours < 48 ? "yesterday" : day.toLocaleDateString([], { day: "numeric", month: "short" });
  return `last seen ${date} at ${clock(p.lastSeen)}`;
}

export function typingLine(users: string[]): string {
  if (users.length === 0) return "";
  if (users.length === 1) return `${users[0]} is typing…`;
  if (users.length === 2) return `${users[0]} and ${users[1]} are typing…`;
  return `${users.length} people are typing…`;
}

/** A system message (group events, a JSON body) in words; an unknown shape shows as is. */
export function systemText(body: string, me: string): string {
  let e: { event?: unknown; actor?: unknown; userId?: unknown; title?: unknown };
  try {
    e = JSON.parse(body) as typeof e;
  } catch {
    return body;
  }
  const name = (u: unknown) => (u === me ? "you" : String(u));
  const actor = e.actor === me ? "You" : String(e.actor);
  switch (e.event) {
    case "created":
      return `${actor} created the group “${String(e.title)}”`;
    case "added":
      return `${actor} added ${name(e.userId)}`;
    case "removed":
      return `${actor} removed ${name(e.userId)}`;
    case "left":
      return `${actor} left`;
    case "promoted":
      return `${actor} made ${name(e.userId)} an admin`;
    case "demoted":
      return `${actor} made ${name(e.userId)} a member`;
    default:
      return body;
  }
}
