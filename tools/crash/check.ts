/**
 * The crash test's checker, after Jepsen's queue checks: from what the senders were acked, what
 * the chats store, and what each recipient holds, it counts acked, stored, lost (acked but not
 * stored), duplicated (one clientMsgId under two seqs), gaps in seq, unexpected (stored, never
 * sent, or stored as another kind or target than sent), ack mismatches (stored under another seq
 * or ts than acked), resend mismatches (a resend answered with another seq or ts than the first
 * ack), reorders within one sender, misapplied rows (a row's body, edited, deleted or reactions
 * other than its acked edits, deletes and reactions applied in seq order make it), paging
 * mismatches (the log paged with `before` other than paged with `after`), stale `ready` frames
 * after the final reconnect, and whether every recipient converged to the stored rows. Each of
 * these fails the run. It also counts what online devices only got from their final `history`
 * (pushes they never got): a figure, not a failure.
 */
import type { Message, SendableKind } from "../../protocol";
import { appliedInSeqOrder, fingerprint, stateOf } from "./row-state";

/** An `ack` as the sender got it. */
export interface Ack {
  seq: number;
  ts: number;
}

/** One entry as its sender sent it: every resend of its clientMsgId carries the same. */
export interface Entry {
  clientMsgId: string;
  kind: SendableKind;
  body: string;
  /** The seq of the message an edit, delete or reaction changes. */
  target?: number;
}

export interface ChatEvidence {
  chatId: string;
  /** How many entries its sender was to send. */
  planned: number;
  /** Every entry its sender sent, in send order. */
  sent: Entry[];
  sender: string;
  /** clientMsgId → every ack it got, in the order they came: the first ack, then those of resends. */
  acks: Map<string, Ack[]>;
  /** Sends refused for good (anything but rate_limited or internal). */
  refused: string[];
  /** Sends sent again after a reconnect, and how many of them had been stored already. */
  resent: number;
  dedupedResends: number;
  /** The chat's log as served by `history`, paged with `after` from the start. */
  stored: Message[];
  /** The same log paged with `before` from its end, put back in ascending seq order. */
  scrolled: Message[];
  /** Each recipient device's rows (what it got, changes applied by its `MessageView`), and what it was shown that disagreed. */
  recipients: {
    device: string;
    log: Message[];
    divergent: string[];
    /** `history` pages it was served whose messages were not in ascending seq order. */
    disordered: string[];
    /**
     * The final reconnect's `ready` (null: none came): the device's cursor then, what it listed
     * for the chat (null: not listed, i.e. the server holds the device up to date), and how many
     * messages the device then took from `history` rather than from pushes.
     */
    ready: { cursor: number; listed: number | null; fetched: number } | null;
  }[];
}

export interface Figures {
  chats: number;
  messages: number;
  kills: number;
  acked: number;
  /** Of the acked entries: edits, deletes and reactions (taking one back included). */
  edits: number;
  deletes: number;
  reactions: number;
  stored: number;
  lost: number;
  duplicated: number;
  gaps: number;
  unexpected: number;
  /** Acks (the first for each clientMsgId) whose seq or ts differs from the stored message's. */
  ackMismatches: number;
  /** Acks after the first for a clientMsgId (resends) answered with another seq or ts. */
  resendMismatches: number;
  /** Acks after the first for a clientMsgId: resends answered again. */
  reacked: number;
  reordered: number;
  /** Stored rows whose state differs from what their acked changes, applied in seq order, make it. */
  misapplied: number;
  /** Seqs whose row paged with `before` differs from (or is missing from) the one paged with `after`. */
  pagingMismatches: number;
  recipients: number;
  converged: number;
  staleReady: number;
  /** Messages online devices took from their final `history` after the final `ready`: pushes they never got. */
  fetchedInFinalSync: number;
  /** Devices that fetched any in their final sync. */
  devicesFetching: number;
  unacked: number;
  refused: number;
  resent: number;
  dedupedResends: number;
  problems: string[];
}

/** Each failure rule, with the figure it counts; `passed` is true when every figure is 0. */
export const FAILURES = [
  "lost",
  "duplicated",
  "gaps",
  "unexpected",
  "ackMismatches",
  "resendMismatches",
  "reordered",
  "misapplied",
  "pagingMismatches",
  "staleReady",
  "unacked",
  "refused",
  "unconverged",
] as const;
export type Failure = (typeof FAILURES)[number];

export function check(chats: ChatEvidence[], kills: number): Figures {
  const f: Figures = {
    chats: chats.length,
    messages: 0,
    kills,
    acked: 0,
    edits: 0,
    deletes: 0,
    reactions: 0,
    stored: 0,
    lost: 0,
    duplicated: 0,
    gaps: 0,
    unexpected: 0,
    ackMismatches: 0,
    resendMismatches: 0,
    reacked: 0,
    reordered: 0,
    misapplied: 0,
    pagingMismatches: 0,
    recipients: 0,
    converged: 0,
    staleReady: 0,
    fetchedInFinalSync: 0,
    devicesFetching: 0,
    unacked: 0,
    refused: 0,
    resent: 0,
    dedupedResends: 0,
    problems: [],
  };
  const note = (p: string) => {
    if (f.problems.length < 20) f.problems.push(p);
  };
  for (const chat of chats) {
    const acked = [...chat.acks].filter(([, acks]) => acks.length > 0);
    const sentAs = new Map(chat.sent.map((e) => [e.clientMsgId, e]));
    f.messages += chat.planned;
    f.acked += acked.length;
    f.unacked += chat.planned - acked.length;
    for (const [clientMsgId] of acked) {
      const kind = sentAs.get(clientMsgId)?.kind;
      if (kind === "edit") f.edits += 1;
      else if (kind === "delete") f.deletes += 1;
      else if (kind === "reaction") f.reactions += 1;
    }
    f.stored += chat.stored.length;
    f.refused += chat.refused.length;
    f.resent += chat.resent;
    f.dedupedResends += chat.dedupedResends;
    for (const c of chat.refused) note(`${chat.chatId}: ${c}`);
    const storedAs = new Map<string, Message[]>();
    for (const m of chat.stored) {
      const key = `${m.sender}/${m.clientMsgId}`;
      storedAs.set(key, [...(storedAs.get(key) ?? []), m]);
    }
    for (const [clientMsgId, [first, ...again]] of acked) {
      if (!first) continue;
      const stored = storedAs.get(`${chat.sender}/${clientMsgId}`);
      if (!stored) {
        f.lost += 1;
        note(`${chat.chatId}: ${clientMsgId} acked as seq ${first.seq} but not stored`);
      } else if (!stored.some((m) => m.seq === first.seq && m.ts === first.ts)) {
        f.ackMismatches += 1;
        note(
          `${chat.chatId}: ${clientMsgId} acked as ${ackText(first)} but stored as ${stored.map(ackText).join(",")}`,
        );
      }
      for (const ack of again) {
        f.reacked += 1;
        if (ack.seq !== first.seq || ack.ts !== first.ts) {
          f.resendMismatches += 1;
          note(`${chat.chatId}: ${clientMsgId} first acked as ${ackText(first)}, a resend as ${ackText(ack)}`);
        }
      }
    }
    for (const [key, stored] of storedAs) {
      if (stored.length > 1) {
        f.duplicated += 1;
        note(`${chat.chatId}: ${key} stored under seqs ${stored.map((m) => m.seq).join(",")}`);
      }
    }
    for (const m of chat.stored) {
      const e = sentAs.get(m.clientMsgId);
      if (m.sender !== chat.sender || !e || m.kind !== e.kind || m.target !== e.target) {
        f.unexpected += 1;
        note(`${chat.chatId}: unexpected seq ${m.seq} ${m.sender}/${m.clientMsgId} ${m.kind} ${m.target ?? ""}`);
      }
    }
    // Each acked entry as sent, at its first ack's seq, then applied in seq order: the state every row must have.
    const expected = appliedInSeqOrder(
      acked.flatMap(([clientMsgId, [first]]) => {
        const e = sentAs.get(clientMsgId);
        return e && first ? [{ chatId: chat.chatId, sender: chat.sender, ...e, seq: first.seq, ts: first.ts }] : [];
      }),
    );
    for (const m of chat.stored) {
      const want = expected.get(m.seq);
      // Another entry under this seq is a loss, duplicate or ack mismatch, counted above.
      if (!want || want.sender !== m.sender || want.clientMsgId !== m.clientMsgId) continue;
      if (stateOf(m) !== stateOf(want)) {
        f.misapplied += 1;
        note(
          `${chat.chatId}: seq ${m.seq} (${m.kind} ${m.clientMsgId}) is ${stateOf(m)}, its acked changes make ${stateOf(want)}`,
        );
      }
    }
    const scrolled = new Map(chat.scrolled.map((m) => [m.seq, fingerprint(m)]));
    const paged = new Map(chat.stored.map((m) => [m.seq, fingerprint(m)]));
    for (const seq of new Set([...paged.keys(), ...scrolled.keys()])) {
      if (paged.get(seq) !== scrolled.get(seq)) {
        f.pagingMismatches += 1;
        note(
          `${chat.chatId}: seq ${seq} paged with after is ${paged.get(seq) ?? "missing"}, with before ${scrolled.get(seq) ?? "missing"}`,
        );
      }
    }
    chat.stored.forEach((m, i) => {
      if (m.seq !== i + 1) {
        f.gaps += 1;
        if (f.gaps <= 5) note(`${chat.chatId}: position ${i + 1} holds seq ${m.seq}`);
      }
    });
    // Sends from one device are stored in the order sent (resends keep that order too).
    const order = new Map(chat.sent.map((e, i) => [e.clientMsgId, i]));
    let last = -1;
    for (const m of chat.stored) {
      const i = order.get(m.clientMsgId);
      if (i === undefined) continue;
      if (i < last) {
        f.reordered += 1;
        note(
          `${chat.chatId}: seq ${m.seq} holds ${m.clientMsgId}, sent before ${chat.sent[last]?.clientMsgId} stored ahead of it`,
        );
      }
      last = Math.max(last, i);
    }
    const rows = chat.stored.map(fingerprint);
    const lastSeq = chat.stored.length;
    for (const r of chat.recipients) {
      f.recipients += 1;
      for (const d of r.disordered) {
        f.reordered += 1;
        note(`${chat.chatId}: ${r.device} was served history out of seq order: ${d}`);
      }
      const ready = r.ready;
      if (!ready) {
        f.staleReady += 1;
        note(`${chat.chatId}: ${r.device} got no ready after its final reconnect`);
      } else {
        // Listed, the chat must be listed with its last seq; not listed, the device must lack nothing.
        if ((ready.listed ?? ready.cursor) < lastSeq) {
          f.staleReady += 1;
          note(
            `${chat.chatId}: ${r.device} held ${ready.cursor} of ${lastSeq} but ready listed ${ready.listed ?? "nothing"}`,
          );
        }
        f.fetchedInFinalSync += ready.fetched;
        if (ready.fetched > 0) f.devicesFetching += 1;
      }
      const held = r.log.map(fingerprint);
      const differs = held.length !== rows.length || held.some((row, i) => row !== rows[i]);
      if (!differs && r.divergent.length === 0) f.converged += 1;
      else {
        const i = held.findIndex((row, k) => row !== rows[k]);
        const first = i === -1 ? "" : `; holds ${held[i]} where the log has ${rows[i] ?? "nothing"}`;
        note(`${chat.chatId}: ${r.device} holds ${r.log.length} of ${lastSeq}${first}; ${r.divergent[0] ?? ""}`);
      }
    }
  }
  return f;
}

function ackText(a: Ack): string {
  return `seq ${a.seq} ts ${a.ts}`;
}

/** The failure rules the figures break, each with its count; empty when the run passed. */
export function failures(f: Figures): Partial<Record<Failure, number>> {
  const counts: Record<Failure, number> = {
    lost: f.lost,
    duplicated: f.duplicated,
    gaps: f.gaps,
    unexpected: f.unexpected,
    ackMismatches: f.ackMismatches,
    resendMismatches: f.resendMismatches,
    reordered: f.reordered,
    misapplied: f.misapplied,
    pagingMismatches: f.pagingMismatches,
    staleReady: f.staleReady,
    unacked: f.unacked,
    refused: f.refused,
    unconverged: f.recipients - f.converged,
  };
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}

export function passed(f: Figures): boolean {
  return Object.keys(failures(f)).length === 0;
}

export function formatFigures(f: Figures, seconds: number): string {
  const failed = failures(f);
  const lines = [
    `crash test: ${f.messages} messages, ${f.chats} senders into ${f.chats} chats, ${f.kills} SIGKILLs, ${seconds.toFixed(0)} s`,
    `acked:        ${f.acked} (${f.acked - f.edits - f.deletes - f.reactions} texts, ${f.edits} edits, ${f.deletes} deletes, ${f.reactions} reactions)`,
    `resent:       ${f.resent} (sent again after a reconnect; ${f.dedupedResends} of them had been stored before the resend and got their first seq and ts back)`,
    `re-acked:     ${f.reacked} (acks of resends after the first ack, each compared with it on seq and ts)`,
    `stored:       ${f.stored}`,
    `lost:         ${f.lost} (acked but not stored)`,
    `duplicated:   ${f.duplicated} (one clientMsgId under two seqs)`,
    `gaps:         ${f.gaps} (seqs missing from 1..n)`,
    `unexpected:   ${f.unexpected} (stored but never sent, or as another kind or target)`,
    `mismatched:   ${f.ackMismatches} (acked with another seq or ts than stored)`,
    `resend acks:  ${f.resendMismatches} (a resend answered with another seq or ts than the first ack)`,
    `reordered:    ${f.reordered} (stored out of one sender's send order, or served by history out of seq order)`,
    `misapplied:   ${f.misapplied} (rows whose body, edited, deleted or reactions differ from their acked changes applied in seq order)`,
    `paging:       ${f.pagingMismatches} (rows paged with before that differ from those paged with after)`,
    `unacked:      ${f.unacked} (never acked by the end)`,
    `refused:      ${f.refused} (sends refused for good)`,
    `converged:    ${f.converged === f.recipients ? "yes" : "NO"} (${f.converged} of ${f.recipients} recipient devices hold exactly the stored rows, changes applied, after sync)`,
    `stale ready:  ${f.staleReady} (a final ready that was missing, listed the chat behind its last seq, or left out a chat the device lacked messages of)`,
    `fetched in final sync (never pushed): ${f.fetchedInFinalSync} (messages online devices only got from history after the final ready; ${f.devicesFetching} of ${f.recipients} devices fetched any; a figure, not a failure)`,
    passed(f)
      ? "PASS"
      : `FAIL: ${Object.entries(failed)
          .map(([rule, n]) => `${rule} ${n}`)
          .join(", ")}`,
  ];
  if (f.problems.length > 0) lines.push("problems:", ...f.problems.map((p) => `  ${p}`));
  return lines.join("\n");
}
