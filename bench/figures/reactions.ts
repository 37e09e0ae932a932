/**
 * Figure 4d (issue 13: a reaction costs no more than a message): in a group whose members are
 * all online, member 0 sends a burst of text messages, timed from its first send to the last
 * member holding them all, and a burst of as many reactions to earlier texts, timed the same
 * way; `repeats` pairs, each burst on an idle server. Then one counted window of each kind,
 * `countedBursts` bursts long, gives calls between objects and SQLite commits per entry, as
 * figure 4b counts them.
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
  const burst = async (kind: "text" | "reaction"): Promise<number> => {
    const reactions = kind === "reaction" ? { targets: unreacted.splice(0, p.burst), emoji: EMOJI } : undefined;
    if (reactions && reactions.targets.length < p.burst) throw new Error("fewer unreacted texts than a burst");
    const b = await bench.agents[0]?.call({
      cmd: "burst",
      key: sender,
      chatId,
      count: p.burst,
      window: p.window,
      bodyBytes: bench.params.bodyBytes,
      reactions,
    });
    if (!b || b.errors > 0) throw new Error(`${kind} burst: ${b?.errors ?? "no"} errors, the first: ${b?.firstError}`);
    if (kind === "text") unreacted.push(...[...b.seqs].sort((x, y) => x - y));
    const expected = p.burst * recipients;
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
    // Several bursts per window: how a burst's sends batch varies from burst to burst, and its counts with it.
    const counted = (kind: "text" | "reaction") =>
      countedWindow(bench, p.countedBursts * p.burst, async () => {
        for (let i = 0; i < p.countedBursts; i++) {
          if (i > 0) await awaitIdle(bench.server);
          await arrivals(bench, chatId, true);
          await burst(kind);
        }
      });
    const messageCost = await counted("text");
    const reactionCost = await counted("reaction");
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
