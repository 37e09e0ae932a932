/**
 * The crash test's checker, after Jepsen's queue checks: from what the senders were acked, what
 * the chats store, and what each recipient holds, it counts acked, stored, lost (acked but not
 * stored), duplicated (one clientMsgId under two seqs), gaps in seq, unexpected (stored, never
 * sent), ack mismatches (stored under another seq than acked), reorders within one sender, and
 * whether every recipient converged to the stored history.
 */
import type { Message } from "../../protocol";

export interface ChatEvidence {
  chatId: string;
  /** Every clientMsgId its sender was to send, in send order. */
  sent: string[];
  sender: string;
  /** clientMsgId → seq, as first acked. */
  acked: Map<string, number>;
  /** A clientMsgId acked again under another seq. */
  ackConflicts: string[];
  /** Sends refused for good (anything but rate_limited or internal). */
  refused: string[];
  /** Sends sent again after a reconnect, and how many of them had been stored already. */
  resent: number;
  dedupedResends: number;
  /** The chat's log as served by `history`, paged from the start. */
  stored: Message[];
  /** Each recipient device's log, and what it was shown that disagreed. */
  recipients: {
    device: string;
    log: Message[];
    divergent: string[];
    /** The final reconnect's `ready`: the device's cursor then, and what it listed for the chat. */
    ready: { cursor: number; listed: number | null } | null;
  }[];
}

export interface Figures {
  chats: number;
  messages: number;
  kills: number;
  acked: number;
  stored: number;
  lost: number;
  duplicated: number;
  gaps: number;
  unexpected: number;
  ackMismatches: number;
  reordered: number;
  recipients: number;
  converged: number;
  staleReady: number;
  unacked: number;
  refused: number;
  resent: number;
  dedupedResends: number;
  problems: string[];
}

export function check(chats: ChatEvidence[], kills: number): Figures {
  const f: Figures = {
    chats: chats.length,
    messages: 0,
    kills,
    acked: 0,
    stored: 0,
    lost: 0,
    duplicated: 0,
    gaps: 0,
    unexpected: 0,
    ackMismatches: 0,
    reordered: 0,
    recipients: 0,
    converged: 0,
    staleReady: 0,
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
    f.messages += chat.sent.length;
    f.acked += chat.acked.size;
    f.unacked += chat.sent.length - chat.acked.size;
    f.stored += chat.stored.length;
    f.ackMismatches += chat.ackConflicts.length;
    f.refused += chat.refused.length;
    f.resent += chat.resent;
    f.dedupedResends += chat.dedupedResends;
    for (const c of [...chat.ackConflicts, ...chat.refused]) note(`${chat.chatId}: ${c}`);
    const seqsOf = new Map<string, number[]>();
    for (const m of chat.stored) {
      const key = `${m.sender}/${m.clientMsgId}`;
      seqsOf.set(key, [...(seqsOf.get(key) ?? []), m.seq]);
    }
    for (const [clientMsgId, seq] of chat.acked) {
      const seqs = seqsOf.get(`${chat.sender}/${clientMsgId}`);
      if (!seqs) {
        f.lost += 1;
        note(`${chat.chatId}: ${clientMsgId} acked as seq ${seq} but not stored`);
      } else if (!seqs.includes(seq)) {
        f.ackMismatches += 1;
        note(`${chat.chatId}: ${clientMsgId} acked as seq ${seq} but stored as ${seqs.join(",")}`);
      }
    }
    for (const [key, seqs] of seqsOf) {
      if (seqs.length > 1) {
        f.duplicated += 1;
        note(`${chat.chatId}: ${key} stored under seqs ${seqs.join(",")}`);
      }
    }
    const sent = new Set(chat.sent);
    for (const m of chat.stored) {
      if (m.sender !== chat.sender || !sent.has(m.clientMsgId) || m.body !== `body of ${m.clientMsgId}`) {
        f.unexpected += 1;
        note(`${chat.chatId}: unexpected seq ${m.seq} ${m.sender}/${m.clientMsgId}`);
      }
    }
    chat.stored.forEach((m, i) => {
      if (m.seq !== i + 1) {
        f.gaps += 1;
        if (f.gaps <= 5) note(`${chat.chatId}: position ${i + 1} holds seq ${m.seq}`);
      }
    });
    // Sends from one device are stored in the order sent (resends keep that order too).
    const order = new Map(chat.sent.map((id, i) => [id, i]));
    let last = -1;
    for (const m of chat.stored) {
      const i = order.get(m.clientMsgId);
      if (i === undefined) continue;
      if (i < last) f.reordered += 1;
      last = Math.max(last, i);
    }
    const expected = JSON.stringify(chat.stored.map(fingerprint));
    for (const r of chat.recipients) {
      f.recipients += 1;
      const ready = r.ready;
      if (ready && ready.cursor < chat.stored.length && (ready.listed ?? ready.cursor) < chat.stored.length) {
        f.staleReady += 1;
        note(
          `${chat.chatId}: ${r.device} lacked up to ${chat.stored.length} but ready said ${ready.listed ?? "nothing"}`,
        );
      }
      const same = JSON.stringify(r.log.map(fingerprint)) === expected && r.divergent.length === 0;
      if (same) f.converged += 1;
      else note(`${chat.chatId}: ${r.device} holds ${r.log.length} of ${chat.stored.length}; ${r.divergent[0] ?? ""}`);
    }
  }
  return f;
}

function fingerprint(m: Message): string {
  return `${m.seq}/${m.sender}/${m.clientMsgId}/${m.body}/${m.ts}`;
}

export function passed(f: Figures): boolean {
  return (
    f.lost === 0 &&
    f.duplicated === 0 &&
    f.gaps === 0 &&
    f.unexpected === 0 &&
    f.ackMismatches === 0 &&
    f.unacked === 0 &&
    f.refused === 0 &&
    f.converged === f.recipients
  );
}

export function formatFigures(f: Figures, seconds: number): string {
  const lines = [
    `crash test: ${f.messages} messages, ${f.chats} senders into ${f.chats} chats, ${f.kills} SIGKILLs, ${seconds.toFixed(0)} s`,
    `acked:      ${f.acked}`,
    `resent:     ${f.resent} (sent again after a reconnect; ${f.dedupedResends} of them had been stored before the resend and got their first seq back)`,
    `stored:     ${f.stored}`,
    `lost:       ${f.lost} (acked but not stored)`,
    `duplicated: ${f.duplicated} (one clientMsgId under two seqs)`,
    `gaps:       ${f.gaps} (seqs missing from 1..n)`,
    `unexpected: ${f.unexpected} (stored but never sent)`,
    `mismatched: ${f.ackMismatches} (stored or acked again under another seq than first acked)`,
    `reordered:  ${f.reordered} (stored out of one sender's send order)`,
    `unacked:    ${f.unacked} (never acked by the end)`,
    `refused:    ${f.refused} (sends refused for good)`,
    `converged:  ${f.converged === f.recipients ? "yes" : "NO"} (${f.converged} of ${f.recipients} recipient devices hold exactly the stored history after sync)`,
    `stale ready: ${f.staleReady} (a final ready that under-announced what the device lacked; it synced anyway)`,
    passed(f) ? "PASS" : "FAIL",
  ];
  if (f.problems.length > 0) lines.push("problems:", ...f.problems.map((p) => `  ${p}`));
  return lines.join("\n");
}
