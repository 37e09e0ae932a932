/** The crash test's checker catches what it claims to: lost, duplicated, gaps, unexpected, divergence. */
import { describe, expect, it } from "vitest";
import type { Message } from "../../protocol";
import { type ChatEvidence, check, passed } from "../../tools/crash/check";

const msg = (seq: number, clientMsgId: string, sender = "s"): Message => ({
  chatId: "d~r~s",
  seq,
  sender,
  clientMsgId,
  body: `body of ${clientMsgId}`,
  ts: 1,
  kind: "text",
});

function evidence(stored: Message[], acked: [string, number][], recipientLog = stored): ChatEvidence {
  return {
    chatId: "d~r~s",
    sent: ["m0", "m1", "m2"],
    sender: "s",
    acked: new Map(acked),
    ackConflicts: [],
    refused: [],
    resent: 0,
    dedupedResends: 0,
    stored,
    recipients: [{ device: "r/phone", log: recipientLog, divergent: [], ready: null }],
  };
}

const ALL_ACKED: [string, number][] = [
  ["m0", 1],
  ["m1", 2],
  ["m2", 3],
];

describe("crash checker", () => {
  it("passes a clean run", () => {
    const f = check([evidence([msg(1, "m0"), msg(2, "m1"), msg(3, "m2")], ALL_ACKED)], 0);
    expect(f).toMatchObject({ acked: 3, stored: 3, lost: 0, duplicated: 0, gaps: 0, converged: 1 });
    expect(passed(f)).toBe(true);
  });

  it("counts an acked message missing from the log as lost, and the hole as a gap", () => {
    const f = check([evidence([msg(1, "m0"), msg(3, "m2")], ALL_ACKED)], 0);
    expect(f).toMatchObject({ lost: 1, gaps: 1 });
    expect(passed(f)).toBe(false);
  });

  it("counts one clientMsgId under two seqs as duplicated", () => {
    const stored = [msg(1, "m0"), msg(2, "m1"), msg(3, "m2"), msg(4, "m2")];
    const f = check([evidence(stored, ALL_ACKED)], 0);
    expect(f.duplicated).toBe(1);
    expect(passed(f)).toBe(false);
  });

  it("counts a stored message nobody sent as unexpected, and an ack under another seq as a mismatch", () => {
    const stored = [msg(1, "m0"), msg(2, "m2"), msg(3, "m1"), msg(4, "zz", "intruder")];
    const f = check([evidence(stored, ALL_ACKED)], 0);
    expect(f).toMatchObject({ unexpected: 1, ackMismatches: 2, reordered: 1 });
    expect(passed(f)).toBe(false);
  });

  it("a recipient holding less, or shown something else, has not converged", () => {
    const stored = [msg(1, "m0"), msg(2, "m1"), msg(3, "m2")];
    const short = check([evidence(stored, ALL_ACKED, stored.slice(0, 2))], 0);
    expect(short.converged).toBe(0);
    const shown = evidence(stored, ALL_ACKED);
    shown.recipients[0]?.divergent.push("seq 2: s/m1 then s/other");
    expect(check([shown], 0).converged).toBe(0);
    expect(passed(short)).toBe(false);
  });

  it("an unacked send fails the run", () => {
    const f = check([evidence([msg(1, "m0"), msg(2, "m1")], ALL_ACKED.slice(0, 2))], 0);
    expect(f.unacked).toBe(1);
    expect(passed(f)).toBe(false);
  });
});
