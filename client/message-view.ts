/**
 * A chat as a device holds it: its log rows by seq, with edits, deletes and reactions applied
 * to the messages they change. The one place that says what an entry does to what a device
 * holds; the server's history rows show the same state (`edited`, `deleted`, `reactions`), so
 * a device that syncs "after X" and applies what it gets holds what a fresh page would show.
 *
 * In a group, seqs this user may not see come as hidden rows (`kind: "hidden"`, `seq..through`);
 * the view joins the parts of one run (pages clip them) and shows one marker per run.
 *
 *   const view = new MessageView();
 *   client.on("message", (m) => { view.apply(m); render(view.shown()); });
 *   client.on("hidden", (run) => { view.apply(run); render(view.shown()); });
 */
import type { Message } from "../protocol/frames";
import { type HiddenRow, isHidden, type LogRow } from "./hidden-rows";

/**
 * A row a conversation shows: a message, or the marker of a run of seqs `seq..through` this
 * user may not see (e.g. "Messages before you joined are hidden"), one per run.
 */
export type ViewRow = Message | HiddenRow;

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
  private readonly showing = new Map<number, Message>();
  /** The seqs of the change entries held, by the seq of the message they change, ascending. */
  private readonly changes = new Map<number, number[]>();
  /** The seqs of the messages known to be deleted. */
  private readonly deleted = new Set<number>();
  /** The runs of hidden seqs held, joined, by their first seq. */
  private readonly hidden = new Map<number, HiddenRow>();

  /**
   * Applies log rows (pushed messages, history pages, hidden runs). A row seen before is
   * replaced by the newer copy; a hidden row joins the run it is part of.
   */
  apply(...rows: LogRow[]): void {
    for (const m of rows) {
      if (isHidden(m)) this.hide(m);
      else if (m.target === undefined) {
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
    return this.showing.get(seq);
  }

  /**
   * Every message held, in seq order: edits, deletes and reactions included, as `history`
   * returns them (hidden runs apart: see `hiddenRuns`).
   */
  rows(): Message[] {
    return [...this.showing.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The messages a conversation shows: texts, attachments and system messages, changes applied. */
  visible(): Message[] {
    return this.rows().filter((m) => m.kind === "text" || m.kind === "attachment" || m.kind === "system");
  }

  /** The runs of seqs this user may not see, each joined from its parts, in seq order. */
  hiddenRuns(): HiddenRow[] {
    return [...this.hidden.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The hidden run that holds `seq`, if any. */
  hiddenAt(seq: number): HiddenRow | undefined {
    for (const run of this.hidden.values()) if (run.seq <= seq && seq <= run.through) return run;
    return undefined;
  }

  /** What a conversation shows, in seq order: `visible()` and one `hidden` marker per run. */
  shown(): ViewRow[] {
    const rows: ViewRow[] = [...this.visible(), ...this.hidden.values()];
    return rows.sort((a, b) => a.seq - b.seq);
  }

  /** The last seq held: a message's, or the end of a hidden run (0 when nothing is held). */
  lastSeq(): number {
    let last = this.rows().at(-1)?.seq ?? 0;
    for (const run of this.hidden.values()) last = Math.max(last, run.through);
    return last;
  }

  /** Joins a hidden row to the runs held: parts that touch or overlap are one run. */
  private hide(row: HiddenRow): void {
    let seq = row.seq;
    let through = Math.max(row.seq, row.through);
    for (const [start, run] of [...this.hidden]) {
      if (start > through + 1 || run.through < seq - 1) continue;
      seq = Math.min(seq, start);
      through = Math.max(through, run.through);
      this.hidden.delete(start);
    }
    this.hidden.set(seq, { chatId: row.chatId, seq, kind: "hidden", through });
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
    const held = this.showing.get(target);
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
    this.showing.set(seq, row);
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
    this.showing.set(seq, entry);
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
