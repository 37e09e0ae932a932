/**
 * A chat as a device holds it: its log rows by seq, with edits, deletes and reactions applied
 * to the messages they change. The one place that says what an entry does to what a device
 * holds; the server's history rows show the same state (`edited`, `deleted`, `reactions`), so
 * a device that syncs "after X" and applies what it gets holds what a fresh page would show.
 *
 *   const view = new MessageView();
 *   client.on("message", (m) => { view.apply(m); render(view.rows()); });
 */
import type { Message } from "../protocol/frames";

/** The rows of one chat, by seq; entries are applied as they arrive, in any order of pages and pushes. */
export class MessageView {
  private readonly bySeq = new Map<number, Message>();
  /** Change entries held, by the seq of the message they change, in seq order. */
  private readonly changes = new Map<number, Message[]>();

  /** Applies log rows (pushed messages or history pages). A row seen before is replaced by the newer copy. */
  apply(...messages: Message[]): void {
    for (const m of messages) this.applyOne(m);
  }

  /** The row at `seq`, with everything held applied to it. */
  get(seq: number): Message | undefined {
    return this.bySeq.get(seq);
  }

  /** Every row held, in seq order: edits, deletes and reactions included, as `history` returns them. */
  rows(): Message[] {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The rows a conversation shows: texts, attachments and system messages, changes applied. */
  visible(): Message[] {
    return this.rows().filter((m) => m.kind === "text" || m.kind === "attachment" || m.kind === "system");
  }

  private applyOne(incoming: Message): void {
    const m = { ...incoming };
    if (m.target === undefined) {
      this.bySeq.set(m.seq, m);
      // A copy of the row from before some change held here (a page read while the change was
      // on its way) gets those changes again; on a row that has them already they change nothing.
      for (const change of this.changes.get(m.seq) ?? []) changeRow(m, change, this.changesOf(m.seq));
      return;
    }
    const held = this.bySeq.get(m.target);
    // A change whose target was deleted comes from the server with its text erased already.
    if (m.kind === "edit" && held?.deleted) m.body = "";
    this.bySeq.set(m.seq, m);
    const list = this.changes.get(m.target) ?? [];
    if (!list.some((c) => c.seq === m.seq)) {
      list.push(m);
      list.sort((a, b) => a.seq - b.seq);
      this.changes.set(m.target, list);
    }
    if (held) changeRow(held, m, this.changesOf(m.target));
  }

  private changesOf(target: number): Message[] {
    return (this.changes.get(target) ?? []).map((c) => this.bySeq.get(c.seq) ?? c);
  }
}

/** What `change` does to `row` (which it targets); `siblings`: every change of `row` held. */
export function changeRow(row: Message, change: Message, siblings: readonly Message[] = []): void {
  switch (change.kind) {
    case "edit":
      // The server refuses edits of a deleted message: one seen here is older than the delete.
      if (row.deleted) return;
      row.body = change.body;
      row.edited = true;
      return;
    case "delete":
      row.body = "";
      row.deleted = true;
      delete row.edited;
      delete row.attachment;
      delete row.reactions;
      // The text of every edit of a deleted message is erased too.
      for (const s of siblings) if (s.kind === "edit") s.body = "";
      return;
    case "reaction":
      if (row.deleted) return;
      row.reactions = withReaction(row.reactions, change.sender, change.body);
      if (!row.reactions) delete row.reactions;
      return;
  }
}

/**
 * `reactions` after `userId` reacted with `emoji` (`""` takes the reaction back): one reaction
 * per user, the newest last in its list; emoji in string order; undefined when none is left.
 */
export function withReaction(
  reactions: Record<string, string[]> | undefined,
  userId: string,
  emoji: string,
): Record<string, string[]> | undefined {
  const lists = new Map<string, string[]>();
  for (const [e, users] of Object.entries(reactions ?? {})) {
    const rest = users.filter((u) => u !== userId);
    if (rest.length > 0) lists.set(e, rest);
  }
  if (emoji !== "") lists.set(emoji, [...(lists.get(emoji) ?? []), userId]);
  if (lists.size === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const e of [...lists.keys()].sort()) out[e] = lists.get(e) as string[];
  return out;
}
