/**
 * The crash test's checker catches what it claims to: lost, duplicated, gaps, unexpected,
 * divergence, reorders, stale `ready` frames, acks (first or of a resend) with another seq or ts,
 * and edits, deletes and reactions lost, stored twice or applied wrongly; each case names exactly
 * the failures it expects and no other.
 */
import { describe, expect, it } from "vitest";
import type { Message } from "../../protocol";
import { type Ack, type ChatEvidence, check, type Entry, failures, passed } from "../../tools/crash/check";

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
    planned: 3,
    sent: ["m0", "m1", "m2"].map((clientMsgId) => ({ clientMsgId, kind: "text", body: `body of ${clientMsgId}` })),
    sender: "s",
    acks: new Map(acks.map(([id, ...rest]) => [id, rest.map((a) => (typeof a === "number" ? { seq: a, ts: TS } : a))])),
    refused: [],
    resent: 0,
    dedupedResends: 0,
    stored,
    scrolled: stored,
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

  it("a text stored with another body than sent is misapplied", () => {
    const stored = [msg(1, "m0"), { ...msg(2, "m1"), body: "body of m2" }, msg(3, "m2")];
    const f = check([evidence(stored, ALL_ACKED, [device(stored)])], 0);
    expect(failures(f)).toEqual({ misapplied: 1 });
  });
});

const text = (clientMsgId: string): Entry => ({ clientMsgId, kind: "text", body: `body of ${clientMsgId}` });
const change = (clientMsgId: string, kind: Entry["kind"], target: number, body = `body of ${clientMsgId}`): Entry => ({
  clientMsgId,
  kind,
  body,
  target,
});

/** A sender's entries, stored under seqs 1 to 9 in this order. */
const ENTRIES: Entry[] = [
  text("t0"),
  text("t1"),
  change("e2", "edit", 1),
  change("e3", "edit", 2),
  change("e4", "edit", 2),
  change("d5", "delete", 1, ""),
  change("r6", "reaction", 2, "👍"),
  change("r7", "reaction", 2, ""),
  change("r8", "reaction", 2, "🎉"),
];

/** An entry's row as stored, before anything changes it. */
function row(e: Entry, seq: number): Message {
  const m: Message = {
    chatId: "d~r~s",
    seq,
    sender: "s",
    clientMsgId: e.clientMsgId,
    body: e.body,
    ts: TS,
    kind: e.kind,
  };
  if (e.target !== undefined) m.target = e.target;
  return m;
}

/**
 * The rows the server serves after ENTRIES, written out by hand: t0 edited, then deleted (its
 * text and its edit's text erased); t1 edited twice (the newest edit's text) and reacted to with
 * 👍, taken back, then 🎉.
 */
const CHANGED: Message[] = ENTRIES.map((e, i) => row(e, i + 1));
CHANGED[0] = { ...row(ENTRIES[0] as Entry, 1), body: "", deleted: true };
CHANGED[1] = { ...row(ENTRIES[1] as Entry, 2), body: "body of e4", edited: true, reactions: { "🎉": ["s"] } };
CHANGED[2] = { ...row(ENTRIES[2] as Entry, 3), body: "" };

/** Every entry acked under seqs 1 to 9; the log as given, paged the same both ways, and one device holding it. */
function withChanges(stored: Message[], over: Partial<ChatEvidence> = {}): ChatEvidence {
  const last = stored.at(-1)?.seq ?? 0;
  return {
    ...evidence(
      stored,
      ENTRIES.map((e, i) => [e.clientMsgId, i + 1]),
      [device(stored, { cursor: 0, listed: last, fetched: stored.length })],
    ),
    planned: ENTRIES.length,
    sent: ENTRIES,
    ...over,
  };
}

/** CHANGED with the row at `seq` replaced by `fields` over it. */
function changedAt(seq: number, fields: Partial<Message>): Message[] {
  return CHANGED.map((m) => (m.seq === seq ? { ...m, ...fields } : m));
}

describe("crash checker: edits, deletes and reactions", () => {
  it("passes a record whose rows are what the acked changes make them, and counts each kind", () => {
    const f = check([withChanges(CHANGED)], 0);
    expect(failures(f)).toEqual({});
    expect(f).toMatchObject({ acked: 9, stored: 9, edits: 3, deletes: 1, reactions: 3, misapplied: 0, converged: 1 });
    expect(passed(f)).toBe(true);
  });

  it("a lost change fails: an acked reaction missing from the log, and from its target's row", () => {
    const stored = changedAt(2, { reactions: undefined }).slice(0, 8);
    const f = check([withChanges(stored)], 0);
    expect(failures(f)).toEqual({ lost: 1, misapplied: 1 });
    expect(f.problems).toContain("d~r~s: r8 acked as seq 9 but not stored");
    expect(passed(f)).toBe(false);
  });

  it.each<[string, string, Partial<Message>]>([
    ["a reaction", "r6", { reactions: { "👍": ["s"] } }],
    ["an edit", "e3", { body: "body of e3" }],
  ])("a change applied twice fails: %s stored again under a later seq", (_, clientMsgId, rowTwo) => {
    const again = row(ENTRIES.find((e) => e.clientMsgId === clientMsgId) as Entry, 10);
    const stored = [...changedAt(2, rowTwo), again];
    const f = check([withChanges(stored)], 0);
    expect(failures(f)).toEqual({ duplicated: 1, reordered: 1, misapplied: 1 });
    expect(f.problems).toContain(`d~r~s: s/${clientMsgId} stored under seqs ${clientMsgId === "r6" ? 7 : 4},10`);
  });

  it("a duplicated reaction fails even when its second copy changes nothing the rows show", () => {
    const stored = [...CHANGED, row(ENTRIES[8] as Entry, 10)];
    const f = check([withChanges(stored)], 0);
    expect(failures(f)).toEqual({ duplicated: 1 });
  });

  it.each<[string, number, Partial<Message>]>([
    ["an older edit's text over the newest", 2, { body: "body of e3" }],
    ["an edited row not marked edited", 2, { edited: undefined }],
    ["a replaced reaction kept beside the new one", 2, { reactions: { "🎉": ["s"], "👍": ["s"] } }],
    ["a reaction counted for the user twice", 2, { reactions: { "🎉": ["s", "s"] } }],
    ["a deleted row that keeps its text", 1, { body: "body of e2" }],
    ["a deleted row not marked deleted", 1, { deleted: undefined }],
    ["an edit of a deleted row that keeps its text", 3, { body: "body of e2" }],
  ])("a wrongly applied change fails: %s", (_, seq, fields) => {
    const stored = changedAt(seq, fields);
    const f = check([withChanges(stored)], 0);
    expect(failures(f)).toEqual({ misapplied: 1 });
    expect(f.problems[0]).toMatch(new RegExp(`^d~r~s: seq ${seq} `));
  });

  it("a change stored with another target than sent is unexpected", () => {
    const stored = changedAt(5, { target: 1 });
    const f = check([withChanges(stored)], 0);
    expect(failures(f)).toEqual({ unexpected: 1 });
  });

  it("the log paged with before must be the log paged with after", () => {
    const stale = check([withChanges(CHANGED, { scrolled: changedAt(2, { reactions: undefined }) })], 0);
    expect(failures(stale)).toEqual({ pagingMismatches: 1 });
    const short = check([withChanges(CHANGED, { scrolled: CHANGED.slice(1) })], 0);
    expect(failures(short)).toEqual({ pagingMismatches: 1 });
  });

  it("a device whose rows lack a change has not converged", () => {
    const shown = device(changedAt(2, { body: "body of e3" }), { cursor: 0, listed: 9, fetched: 9 });
    const f = check([withChanges(CHANGED, { recipients: [shown] })], 0);
    expect(failures(f)).toEqual({ unconverged: 1 });
  });
});
