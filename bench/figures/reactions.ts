/**
 * Figure 4d (issue 13: a reaction costs no more than a message): in a group whose members are
 * all online, member 0 sends a burst of text messages, timed from its first send to the last
 * member holding them all, and a burst of as many reactions to earlier texts, timed the same
 * way; `repeats` pairs, each burst on an idle server. Then counted windows, `countedWindows` of
 * each kind taken in turn, each `countedBursts` bursts' worth of entries sent one in flight (as
 * 4b's burst is), give calls between objects and SQLite commits per entry, as figure 4b counts
 * them, averaged over the windows of a kind.
 */
import type { Arrivals } from "../agent-protocol";
import { type Bench, closeAll, createGroup, type Device, deviceSpec, keyOf, openAll } from "../context";
import { awaitIdle } from "../idle";
import { type LatencySummary, summarize } from "../stats";
import { breakdown, type CostWindow, countedWindow, sleepUntil } from "./cost";
import { collectDeliveries } from "./throughput";

/** Emoji the reactions cycle through (one of them two code points: a pictograph and U+FE0F). */
const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "🔥"];
/** How long a burst may take to reach every member: 6 ms per delivery, at least 15 s (here about 0.25 ms each). */
const waitMs = (deliveries: number) => Math.max(15_000, 6 * deliveries);

/** The mean of windows of the same size: each per-entry count averaged. */
function meanWindow(ws: CostWindow[]): CostWindow {
  const mean = (f: (w: CostWindow) => number) => ws.reduce((sum, w) => sum + f(w), 0) / ws.length;
  const meanCounts = (f: (w: CostWindow) => Record<string, number>) => {
    const keys = new Set(ws.flatMap((w) => Object.keys(f(w))));
    return Object.fromEntries([...keys].map((k) => [k, Math.round(mean((w) => f(w)[k] ?? 0) * 100) / 100]));
  };
  return {
    messages: ws.reduce((sum, w) => sum + w.messages, 0),
    calls: mean((w) => w.calls),
    commits: mean((w) => w.commits),
    workerCalls: mean((w) => w.workerCalls),
    writes: mean((w) => w.writes),
    noopWrites: mean((w) => w.noopWrites),
    callsBy: meanCounts((w) => w.callsBy),
    commitsBy: meanCounts((w) => w.commitsBy),
    windowMs: mean((w) => w.windowMs),
  };
}

/** Last arrivals of `samples` bursts. */
export type Timed = LatencySummary & { samples: number };

export interface ReactionBurstResult {
  members: number;
  burst: number;
  window: number;
  messages: Timed;
  reactions: Timed;
  messageCost: CostWindow;
  reactionCost: CostWindow;
}

/** What every agent's sockets got of `chatId`: the count summed, the latest arrival over all. */
async function arrivals(bench: Bench, chatId: string, reset: boolean): Promise<{ count: number; lastNs: bigint }> {
  const all: Arrivals[] = await Promise.all(bench.agents.map((a) => a.call({ cmd: "arrivals", chatId, reset })));
  return all.reduce(
    (m, a) => ({ count: m.count + a.count, lastNs: BigInt(a.lastNs) > m.lastNs ? BigInt(a.lastNs) : m.lastNs }),
    { count: 0, lastNs: 0n },
  );
}

export async function reactionBurst(bench: Bench): Promise<ReactionBurstResult> {
  const p = bench.params.reactions;
  const users = Array.from({ length: p.members }, (_, i) => `${bench.runId}-f4d-m${i}`);
  const chatId = await createGroup(bench, users[0] as string, users.slice(1));
  const devices: Device[] = users.map((userId, i) => ({ userId, device: "phone", agent: i % bench.agents.length }));
  const sender = keyOf(devices[0] as Device);
  const recipients = p.members - 1;
  await openAll(
    bench,
    devices.map((d) => ({ spec: deviceSpec(bench, d), agent: d.agent })),
    64,
  );
  // Texts that the sender has not reacted to yet, oldest first: each reaction is a new one, not a replacement.
  const unreacted: number[] = [];

  /**
   * One burst (texts, or reactions to the oldest unreacted texts), sent and awaited; its time to
   * the last member. A burst that does not reach every member fails the figure: its late frames
   * would be counted with the next burst's.
   */
  const burst = async (kind: "text" | "reaction", inFlight = p.window, count = p.burst): Promise<number> => {
    const reactions = kind === "reaction" ? { targets: unreacted.splice(0, count), emoji: EMOJI } : undefined;
    if (reactions && reactions.targets.length < count) throw new Error("fewer unreacted texts than a burst");
    const b = await bench.agents[0]?.call({
      cmd: "burst",
      key: sender,
      chatId,
      count,
      window: inFlight,
      bodyBytes: bench.params.bodyBytes,
      reactions,
    });
    if (!b || b.errors > 0) throw new Error(`${kind} burst: ${b?.errors ?? "no"} errors, the first: ${b?.firstError}`);
    if (kind === "text") unreacted.push(...[...b.seqs].sort((x, y) => x - y));
    const expected = count * recipients;
    const deadline = Date.now() + waitMs(expected);
    for (let got = 0; got < expected; got = (await arrivals(bench, chatId, false)).count) {
      if (Date.now() > deadline)
        throw new Error(`${kind} burst: ${got} of ${expected} deliveries after ${waitMs(expected) / 1000} s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return Number((await arrivals(bench, chatId, true)).lastNs - BigInt(b.startNs)) / 1e6;
  };
  /** A burst on an idle server, with the agents' counts of earlier deliveries dropped. */
  const timed = async (kind: "text" | "reaction"): Promise<number> => {
    await awaitIdle(bench.server);
    await collectDeliveries(bench, true, false);
    await arrivals(bench, chatId, true);
    return burst(kind);
  };

  try {
    // Warm-up, and a burst of texts to spare, so that either kind may go first in a pair.
    for (const kind of ["text", "text", "reaction"] as const) await timed(kind);
    const samples = { text: [] as number[], reaction: [] as number[] };
    for (let i = 0; i < p.repeats; i++) {
      // Alternate which goes first, so that neither always follows the other's leftovers.
      const order = i % 2 === 0 ? (["text", "reaction"] as const) : (["reaction", "text"] as const);
      for (const kind of order) samples[kind].push(await timed(kind));
    }
    const summary = (s: number[]): Timed => ({ ...summarize(s), samples: s.length });
    const messages = summary(samples.text);
    const reactions = summary(samples.reaction);
    bench.log(
      `    ${p.repeats} bursts of ${p.burst} each, last of ${recipients} holds them all: texts p50 ${messages.p50.toFixed(1)} ms, reactions p50 ${reactions.p50.toFixed(1)} ms`,
    );

    // What the timed bursts left for later must land before the first counted window.
    await sleepUntil(Date.now() + bench.params.cost.settleMs);
    // Counted one entry in flight, all of a window's entries in one stream: with more in flight,
    // how the sends happen to batch in the sender's object (2 to 5 calls to the chat per burst of
    // 10) sets the deliveries per entry; with pauses between bursts, whether a member's delayed
    // `delivered` rides on the next delivery or goes in a call of its own depends on the pause.
    // Either swamps the difference between the kinds that the count is for. The kinds alternate,
    // text first, so that a drift of the machine's load falls on both.
    const entries = p.countedBursts * p.burst;
    const counted = (kind: "text" | "reaction") =>
      countedWindow(bench, entries, async () => {
        await arrivals(bench, chatId, true);
        await burst(kind, 1, entries);
      });
    const windows = { text: [] as CostWindow[], reaction: [] as CostWindow[] };
    for (let i = 0; i < p.countedWindows; i++)
      for (const kind of ["text", "reaction"] as const) windows[kind].push(await counted(kind));
    const messageCost = meanWindow(windows.text);
    const reactionCost = meanWindow(windows.reaction);
    for (const [label, w] of [
      ["texts", messageCost],
      ["reactions", reactionCost],
    ] as const)
      bench.log(
        `    ${label}: ${w.calls.toFixed(1)} calls and ${w.commits.toFixed(2)} commits per entry (${w.messages} entries): ${breakdown(w)}`,
      );
    return { members: p.members, burst: p.burst, window: p.window, messages, reactions, messageCost, reactionCost };
  } finally {
    await closeAll(bench);
  }
}
