/**
 * Hidden rows (v1.1 privacy): in a group, history a member may not see (from before it joined,
 * or while it was out) comes back as one row per run of seqs, `seq..through`, clipped to the
 * page, so seqs stay gapless. The SDK treats such a row as holding every seq of its run.
 */
import type { HiddenRow, HistoryRow } from "../protocol/frames";

export type { HiddenRow } from "../protocol/frames";

/** A row of a chat's log as history pages and pushes give it: a message, or a hidden run. */
export type LogRow = HistoryRow;

export function isHidden(row: LogRow): row is HiddenRow {
  return row.kind === "hidden";
}

/** The last seq a row holds: its own, or the end of a hidden run. */
export function lastSeqOf(row: LogRow): number {
  return isHidden(row) ? Math.max(row.seq, row.through) : row.seq;
}
