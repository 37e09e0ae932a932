/**
 * The crash test's checker catches what it claims to: lost, duplicated, gaps, unexpected,
 * divergence, reorders, stale `ready` frames and acks (first or of a resend) with another seq or
 * ts; each case names exactly the failure it expects and no other.
 */
import { describe, expect, it } from "vitest";
import type { Message } from "../../protocol";
import { type Ack, type ChatEvidence, check, failures, passed } from "../../tools/crash/check";

const TS = 1_767_225_600_000;

const msg = (seq: number, clientMsgId: string, sender = "s", ts = TS): Message => ({
  chatId: "d~r~s",
  seq,
  sender,
  clientMsgId,
  body: `body of ${clientMsgId}`,
  ts,
  kind: "text",
});

type Recipient = ChatEvidence["recipients"][number];

/** A device that held nothing at the final ready, was listed the chat's last seq, and fetched it all. */
function device(log: Message[], ready: Recipient["ready"] = { cursor: 0, listed: 3, fetched: log.length }): Recipient {
  return { device: "r/phone", log, divergent: [], disordered: [], ready };
}

/** Acks as [clientMsgId, seq] (at TS) or [clientMsgId, ...acks] for a first ack and those of resends. */
function evidence(
  stored: Message[],
  acks: ([string, number] | [string, ...Ack[]])[],
  recipients: Recipient[] = [device(stored)],
): ChatEvidence {
  return {
    chatId: "d~r~s",
    sent: ["m0", "m1", "m2"],
    sender: "s",
    acks: new Map(acks.map(([id, ...rest]) => [id, rest.map((a) => (typeof a === "number" ? { seq: a, ts: TS } : a))])),
    refused: [],
    resent: 0,
    dedupedResends: 0,
    stored,
    recipients,
  };
}

const STORED = [msg(1, "m0"), msg(2, "m1"), msg(3, "m2")];
const ALL_ACKED: [string, number][] = [
  ["m0", 1],
  ["m1", 2],
  ["m2", 3],
];

describe("crash checker", () => {
  it("passes a clean record: every send acked and stored in order, a resend answered the same, ready current", () => {
    const acks: [string, ...Ack[]][] = [
      ["m0", { seq: 1, ts: TS }],
      ["m1", { seq: 2, ts: TS }, { seq: 2, ts: TS }],
      ["m2", { seq: 3, ts: TS }],
    ];
    const recipients = [
      device(STORED, { cursor: 0, listed: 3, fetched: 3 }),
      { ...device(STORED, { cursor: 3, listed: null, fetched: 0 }), device: "r/tablet" },
    ];
    const f = check([evidence(STORED, acks, recipients)], 0);
    expect(failures(f)).toEqual({});
    expect(f).toMatchObject({ acked: 3, stored: 3, reacked: 1, reordered: 0, staleReady: 0, converged: 2 });
    expect(passed(f)).toBe(true);
  });

  it("counts what devices fetched after the final ready as a figure, not a failure", () => {
    const recipients = [
      device(STORED, { cursor: 1, listed: 3, fetched: 2 }),
      { ...device(STORED, { cursor: 3, listed: null, fetched: 0 }), device: "r/tablet" },
    ];
    const f = check([evidence(STORED, ALL_ACKED, recipients)], 0);
    expect(f).toMatchObject({ fetchedInFinalSync: 2, devicesFetching: 1 });
    expect(failures(f)).toEqual({});
  });

  it("counts an acked message missing from the log as lost, and the hole as a gap", () => {
    const stored = [msg(1, "m0"), msg(3, "m2")];
    const f = check([evidence(stored, ALL_ACKED, [device(stored, { cursor: 0, listed: 2, fetched: 2 })])], 0);
    expect(failures(f)).toEqual({ lost: 1, gaps: 1 });
    expect(passed(f)).toBe(false);
  });

  it("counts one clientMsgId under two seqs as duplicated", () => {
    const stored = [...STORED, msg(4, "m2")];
    const f = check([evidence(stored, ALL_ACKED, [device(stored, { cursor: 0, listed: 4, fetched: 4 })])], 0);
    expect(failures(f)).toEqual({ duplicated: 1 });
  });

  it("counts a stored message nobody sent as unexpected", () => {
    const stored = [...STORED, msg(4, "zz", "intruder")];
    const f = check([evidence(stored, ALL_ACKED, [device(stored, { cursor: 0, listed: 4, fetched: 4 })])], 0);
    expect(failures(f)).toEqual({ unexpected: 1 });
  });

  it("a reordered delivery fails: a sender's messages stored out of its send order", () => {
    const stored = [msg(1, "m0"), msg(2, "m2"), msg(3, "m1")];
    const acked: [string, number][] = [
      ["m0", 1],
      ["m1", 3],
      ["m2", 2],
    ];
    const f = check([evidence(stored, acked, [device(stored)])], 0);
    expect(failures(f)).toEqual({ reordered: 1 });
    expect(f.problems).toEqual(["d~r~s: seq 3 holds m1, sent before m2 stored ahead of it"]);
    expect(passed(f)).toBe(false);
  });

  it("a reordered delivery fails: a history page served out of seq order", () => {
    const shown = device(STORED);
    shown.disordered.push("after 0: seqs 2,1,3");
    const f = check([evidence(STORED, ALL_ACKED, [shown])], 0);
    expect(failures(f)).toEqual({ reordered: 1 });
  });

  it("an ack whose ts differs on resend fails", () => {
    const acks: [string, ...Ack[]][] = [
      ["m0", { seq: 1, ts: TS }],
      ["m1", { seq: 2, ts: TS }, { seq: 2, ts: TS + 5 }],
      ["m2", { seq: 3, ts: TS }],
    ];
    const f = check([evidence(STORED, acks)], 0);
    expect(failures(f)).toEqual({ resendMismatches: 1 });
    expect(f.problems).toEqual([`d~r~s: m1 first acked as seq 2 ts ${TS}, a resend as seq 2 ts ${TS + 5}`]);
    expect(passed(f)).toBe(false);
  });

  it("an ack whose seq differs on resend fails", () => {
    const acks: [string, ...Ack[]][] = [
      ["m0", { seq: 1, ts: TS }, { seq: 4, ts: TS }],
      ["m1", { seq: 2, ts: TS }],
      ["m2", { seq: 3, ts: TS }],
    ];
    const f = check([evidence(STORED, acks)], 0);
    expect(failures(f)).toEqual({ resendMismatches: 1 });
  });

  it("a resend whose first ack was lost, answered with another ts than stored, fails", () => {
    const acks: [string, ...Ack[]][] = [
      ["m0", { seq: 1, ts: TS }],
      ["m1", { seq: 2, ts: TS + 9 }],
      ["m2", { seq: 3, ts: TS }],
    ];
    const f = check([evidence(STORED, acks)], 0);
    expect(failures(f)).toEqual({ ackMismatches: 1 });
    expect(f.problems).toEqual([`d~r~s: m1 acked as seq 2 ts ${TS + 9} but stored as seq 2 ts ${TS}`]);
  });

  it("an ack under another seq than stored is a mismatch", () => {
    const acked: [string, number][] = [
      ["m0", 1],
      ["m1", 3],
      ["m2", 3],
    ];
    const f = check([evidence(STORED, acked)], 0);
    expect(failures(f)).toEqual({ ackMismatches: 1 });
  });

  it("a stale ready fails: it listed the chat behind its last seq to a device that lacked messages", () => {
    const f = check([evidence(STORED, ALL_ACKED, [device(STORED, { cursor: 1, listed: 2, fetched: 2 })])], 0);
    expect(failures(f)).toEqual({ staleReady: 1 });
    expect(f.problems).toEqual(["d~r~s: r/phone held 1 of 3 but ready listed 2"]);
    expect(passed(f)).toBe(false);
  });

  it("a stale ready fails: it left out the chat of a device that lacked messages", () => {
    const f = check([evidence(STORED, ALL_ACKED, [device(STORED, { cursor: 2, listed: null, fetched: 1 })])], 0);
    expect(failures(f)).toEqual({ staleReady: 1 });
    expect(f.problems).toEqual(["d~r~s: r/phone held 2 of 3 but ready listed nothing"]);
  });

  it("a stale ready fails: it listed the chat behind its last seq to a device holding it all", () => {
    const f = check([evidence(STORED, ALL_ACKED, [device(STORED, { cursor: 3, listed: 2, fetched: 0 })])], 0);
    expect(failures(f)).toEqual({ staleReady: 1 });
  });

  it("no ready after the final reconnect counts as stale", () => {
    const f = check([evidence(STORED, ALL_ACKED, [device(STORED, null)])], 0);
    expect(failures(f)).toEqual({ staleReady: 1 });
    expect(f.problems).toEqual(["d~r~s: r/phone got no ready after its final reconnect"]);
  });

  it("a recipient holding less, or shown something else, has not converged", () => {
    const short = check(
      [evidence(STORED, ALL_ACKED, [device(STORED.slice(0, 2), { cursor: 0, listed: 3, fetched: 2 })])],
      0,
    );
    expect(failures(short)).toEqual({ unconverged: 1 });
    const shown = device(STORED);
    shown.divergent.push("seq 2: s/m1 then s/other");
    expect(failures(check([evidence(STORED, ALL_ACKED, [shown])], 0))).toEqual({ unconverged: 1 });
    expect(passed(short)).toBe(false);
  });

  it("an unacked send fails the run", () => {
    const stored = STORED.slice(0, 2);
    const f = check(
      [evidence(stored, ALL_ACKED.slice(0, 2), [device(stored, { cursor: 0, listed: 2, fetched: 2 })])],
      0,
    );
    expect(failures(f)).toEqual({ unacked: 1 });
  });
});
