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

/**
 * The rows of one chat, by seq. Entries may arrive in any order of pages and pushes, and more
 * than once: a row is worked out again from the newest copy of it received and every change of
 * it held whenever an entry does not simply follow those held, so what is shown once everything
 * has arrived does not depend on the order. Rows are replaced, never changed in place.
 */
export class MessageView {
  /** Each seq as it last arrived (a deleted message's text and its edits' text erased). */
  private readonly received = new Map<number, Message>();
  /** The rows as shown: `received` with the changes held applied. */
  private readonly shown = new Map<number, Message>();
  /** The seqs of the change entries held, by the seq of the message they change, ascending. */
  private readonly changes = new Map<number, number[]>();
  /** The seqs of the messages known to be deleted. */
  private readonly deleted = new Set<number>();

  /** Applies log rows (pushed messages or history pages). A row seen before is replaced by the newer copy. */
  apply(...messages: Message[]): void {
    for (const m of messages) {
      if (m.target === undefined) {
        // Deleting is final: a copy that shows the message is older than the delete held here.
        if (this.received.get(m.seq)?.deleted && !m.deleted) continue;
        this.received.set(m.seq, { ...m });
        this.settle(m.seq);
      } else {
        this.applyChange({ ...m }, m.target);
      }
    }
  }

  /** The row at `seq`, with everything held applied to it. */
  get(seq: number): Message | undefined {
    return this.shown.get(seq);
  }

  /** Every row held, in seq order: edits, deletes and reactions included, as `history` returns them. */
  rows(): Message[] {
    return [...this.shown.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The rows a conversation shows: texts, attachments and system messages, changes applied. */
  visible(): Message[] {
    return this.rows().filter((m) => m.kind === "text" || m.kind === "attachment" || m.kind === "system");
  }

  private applyChange(change: Message, target: number): void {
    const seqs = this.changes.get(target) ?? [];
    this.changes.set(target, seqs);
    const again = this.received.has(change.seq);
    this.received.set(change.seq, change);
    if (change.kind === "delete") this.deleted.add(target);
    if (again) {
      // A copy of an entry held: what it does to its message is shown already.
      this.show(change.seq, target);
      return;
    }
    const last = seqs.at(-1);
    if (last !== undefined && change.seq < last) {
      const at = seqs.findIndex((s) => s > change.seq);
      seqs.splice(at, 0, change.seq);
      this.settle(target);
      return;
    }
    seqs.push(change.seq);
    const held = this.shown.get(target);
    if (held) this.showRow(target, held, [change]);
    for (const s of change.kind === "delete" ? seqs : [change.seq]) this.show(s, target);
  }

  /**
   * Works out the message at `seq` and its change entries again. A copy of a message already
   * shows the changes stored before it was read; applying them again in seq order changes
   * nothing, so every change held is applied.
   */
  private settle(seq: number): void {
    const seqs = this.changes.get(seq) ?? [];
    const copy = this.received.get(seq);
    const changes = seqs.map((s) => this.received.get(s) as Message);
    if (copy) this.showRow(seq, copy, changes);
    for (const s of seqs) this.show(s, seq);
  }

  private showRow(seq: number, from: Message, changes: Message[]): void {
    const row = { ...from };
    for (const change of changes) changeRow(row, change);
    this.shown.set(seq, row);
    if (row.deleted) {
      this.deleted.add(seq);
      // Deleting is final: the text a device held is dropped, not only hidden.
      this.received.set(seq, row);
    }
  }

  /** Shows the change entry at `seq` of the message `target`; a delete erases the text of every edit of it. */
  private show(seq: number, target: number): void {
    let entry = this.received.get(seq) as Message;
    if (entry.kind === "edit" && entry.body !== "" && this.deleted.has(target)) {
      entry = { ...entry, body: "" };
      this.received.set(seq, entry);
    }
    this.shown.set(seq, entry);
  }
}

/** What `change` does to `row` (the message it targets), for changes applied in seq order. */
export function changeRow(row: Message, change: Message): void {
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
