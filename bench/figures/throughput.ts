/**
 * Figures 1-3: sustained sends into one chat (send → ack), delivered messages/s across many
 * direct and group chats, and sender → recipient latency at half that load. Senders sit on
 * agent 0, recipients on the other agents; recipients acknowledge with `received` like a client.
 */
import { directChatId } from "../../protocol/ids";
import type { DeliveryReport, LoadResult, LoadTarget } from "../agent-protocol";
import { type Bench, closeAll, createGroup, type Device, deviceSpec, keyOf, openAll } from "../context";
import { countFsyncs } from "../fsyncs";
import { awaitIdle } from "../idle";
import { findMaxRate, passes, type Search, type Step } from "../rate-search";
import { summarize } from "../stats";
import { type CostWindow, countedSends, sleepUntil } from "./cost";
import { closedLoopRate, loadOnAgents, minRate, stepOf } from "./echo";

export interface Topology {
  /** Per agent: the sockets that send, each into its chat. */
  senders: LoadTarget[][];
  /** Devices that receive each message. */
  recipientsPerMessage: number;
  sockets: number;
}

function perAgent(bench: Bench, senders: { key: string; chatId: string }[]): LoadTarget[][] {
  return bench.agents.map((_, i) => (i === 0 ? senders : []));
}

/** `chats` direct chats, each between a sender (agent 0) and a recipient (the other agents). */
export async function directTopology(bench: Bench, chats: number, tag: string): Promise<Topology> {
  const devices: Device[] = [];
  const senders: { key: string; chatId: string }[] = [];
  const others = Math.max(1, bench.agents.length - 1);
  for (let i = 0; i < chats; i++) {
    const s: Device = { userId: `${bench.runId}-${tag}${i}-s`, device: "phone", agent: 0 };
    const r: Device = { userId: `${bench.runId}-${tag}${i}-r`, device: "phone", agent: 1 + (i % others) };
    devices.push(s, r);
    senders.push({ key: keyOf(s), chatId: directChatId(s.userId, r.userId) });
  }
  await openAll(
    bench,
    devices.map((d) => ({ spec: deviceSpec(bench, d), agent: Math.min(d.agent, bench.agents.length - 1) })),
  );
  return { senders: perAgent(bench, senders), recipientsPerMessage: 1, sockets: devices.length };
}

/** `chats` groups of `size`: member 0 sends (agent 0), the others receive (the other agents). */
export async function groupTopology(bench: Bench, chats: number, size: number, tag: string): Promise<Topology> {
  const devices: Device[] = [];
  const senders: { key: string; chatId: string }[] = [];
  const others = Math.max(1, bench.agents.length - 1);
  const members = Array.from({ length: chats }, (_, g) =>
    Array.from({ length: size }, (_, i) => `${bench.runId}-${tag}${g}-m${i}`),
  );
  const chatIds: string[] = [];
  // Eight creations at a time: setting up is not what is measured.
  for (let g = 0; g < chats; g += 8) {
    const batch = members.slice(g, g + 8);
    chatIds.push(...(await Promise.all(batch.map((users) => createGroup(bench, users[0] as string, users.slice(1))))));
  }
  members.forEach((users, g) => {
    users.forEach((userId, i) => {
      devices.push({ userId, device: "phone", agent: i === 0 ? 0 : 1 + ((g + i) % others) });
    });
    senders.push({ key: keyOf({ userId: users[0] as string, device: "phone" }), chatId: chatIds[g] as string });
  });
  await openAll(
    bench,
    devices.map((d) => ({ spec: deviceSpec(bench, d), agent: Math.min(d.agent, bench.agents.length - 1) })),
  );
  return { senders: perAgent(bench, senders), recipientsPerMessage: size - 1, sockets: devices.length };
}

async function deliveries(bench: Bench, reset: boolean, withLatencies: boolean): Promise<DeliveryReport> {
  const reports = await Promise.all(bench.agents.map((a) => a.call({ cmd: "deliveries", reset, withLatencies })));
  const merged: DeliveryReport = { count: 0, latencies: [], tags: {} };
  for (const r of reports) {
    merged.count += r.count;
    if (withLatencies) merged.latencies = merged.latencies.concat(r.latencies);
    for (const [tag, t] of Object.entries(r.tags)) {
      const m = merged.tags[tag] ?? { count: 0, maxMs: 0 };
      merged.tags[tag] = { count: m.count + t.count, maxMs: Math.max(m.maxMs, t.maxMs) };
    }
  }
  return merged;
}

export { deliveries as collectDeliveries };

/** Waits until deliveries stop arriving (the backlog of an earlier load is gone), then resets the counts. */
export async function quiesce(bench: Bench): Promise<void> {
  const deadline = Date.now() + bench.params.drainMs;
  let last = -1;
  let still = 0;
  while (Date.now() < deadline && still < 3) {
    const count = (await deliveries(bench, false, false)).count;
    still = count === last ? still + 1 : 0;
    last = count;
    await new Promise((r) => setTimeout(r, 100));
  }
  await awaitIdle(bench.server, bench.params.drainMs);
  await deliveries(bench, true, false);
}

/** One step judged on delivery: `achieved` is delivered messages/s, latency is sender → recipient. */
export async function deliveryStep(bench: Bench, topo: Topology, rate: number, durationMs: number): Promise<Step> {
  await quiesce(bench);
  const load = await loadOnAgents(bench, topo.senders, rate, durationMs);
  const expected = load.sent * topo.recipientsPerMessage;
  const deadline = Date.now() + bench.params.drainMs;
  while (Date.now() < deadline && (await deliveries(bench, false, false)).count < expected) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const got = await deliveries(bench, true, true);
  const s = summarize(got.latencies, Math.max(0, expected - got.count));
  return {
    offered: rate,
    achieved: got.count / (durationMs / 1000),
    p50: s.p50,
    p99: s.p99,
    samples: got.latencies.length + Math.max(0, expected - got.count),
    max: s.max,
    ok: passes(expected, got.count, s.p99, bench.params.sloMs) && load.errors === 0,
  };
}

async function warmUp(bench: Bench, topo: Topology): Promise<void> {
  const r = await loadOnAgents(bench, topo.senders, 0, 300, 2);
  if (r.errors > 0) throw new Error(`warm-up sends failed: ${r.firstError}`);
  await quiesce(bench);
}

/** Figure 1: one sender into one direct chat, judged on send → ack. */
export async function sendsIntoOneChat(bench: Bench): Promise<Search> {
  const topo = await directTopology(bench, 1, "f1-");
  try {
    await warmUp(bench, topo);
    return await findMaxRate(
      async () => {
        const r = await loadOnAgents(bench, topo.senders, 0, bench.params.stepMs, 32);
        return closedLoopRate(bench, r);
      },
      async (rate) => {
        await quiesce(bench);
        return stepOf(bench, rate, await loadOnAgents(bench, topo.senders, rate, bench.params.stepMs));
      },
      bench.log,
      minRate(bench),
      bench.params.maxSteps,
    );
  } finally {
    await closeAll(bench);
  }
}

/** Sends in flight in figure 1d's counted window (the condition). */
export const COUNTED_IN_FLIGHT = 8;

export interface SendCost {
  cost: CostWindow;
  /** `fsync`/`fdatasync` calls of the server per message over the window (null: `perf` could not count). */
  fsyncs: number | null;
  /** Messages acked per second while the window's load ran. */
  rate: number;
}

/**
 * A counted window (`countedSends`) of the sends `load` makes, with the server's `fsync` calls
 * counted over it and `settleMs` after it (what the sends leave for later: receipts, flushes,
 * the alarm), per message; null when `perf` could not count.
 */
async function countedWithFsyncs(
  bench: Bench,
  load: () => Promise<LoadResult>,
): Promise<{ cost: CostWindow; fsyncs: number | null; load: LoadResult }> {
  let result: LoadResult | null = null;
  let fsyncs: Promise<number | null> = Promise.resolve(null);
  const cost = await countedSends(bench, async () => {
    const counting = await countFsyncs(bench.server.runtimePids());
    const r = await load();
    if (r.errors > 0) throw new Error(`counted sends failed: ${r.firstError}`);
    result = r;
    fsyncs = sleepUntil(Date.now() + bench.params.cost.settleMs).then(() => counting.stop());
    return r.completed;
  });
  const synced = await fsyncs;
  if (!result) throw new Error("counted sends made no load");
  return { cost, fsyncs: synced === null ? null : synced / cost.messages, load: result };
}

/**
 * Figure 1d: what a message costs on figure 1's path (one sender socket into one direct chat, the
 * recipient online and answering `received`): a closed loop with `COUNTED_IN_FLIGHT` sends in
 * flight for one step, in a window that ends `settleMs` later; the server's `fsync` calls
 * (`../fsyncs`), and commits and calls as 4b counts them.
 */
export async function costInOneChat(bench: Bench): Promise<SendCost> {
  const topo = await directTopology(bench, 1, "f1d-");
  try {
    await warmUp(bench, topo);
    // What the warm-up leaves for later (its inbox flush, the chat's check) must land before the window.
    await sleepUntil(Date.now() + bench.params.cost.settleMs);
    const { cost, fsyncs, load } = await countedWithFsyncs(bench, () =>
      loadOnAgents(bench, topo.senders, 0, bench.params.stepMs, COUNTED_IN_FLIGHT),
    );
    return { cost, rate: closedLoopRate(bench, load), fsyncs };
  } finally {
    await closeAll(bench);
  }
}

/** Figure 2d's send rate per chat (msgs/s): a person chatting, not a closed loop. */
export const DIRECT_COST_RATE_PER_CHAT = 1;

/**
 * Figure 2d: what a message costs on figure 2's path (`chats` direct chats, each sender sending
 * `DIRECT_COST_RATE_PER_CHAT` a second, the recipients online and answering `received`), counted
 * as 1d over ten steps (long enough that the deferred writes each object makes every few seconds,
 * its inbox flush and the chat's check, weigh what they weigh under steady load) and `settleMs`.
 */
export async function costInDirectChats(bench: Bench, chats: number): Promise<SendCost> {
  const topo = await directTopology(bench, chats, "f2c-");
  try {
    await warmUp(bench, topo);
    await sleepUntil(Date.now() + bench.params.cost.settleMs);
    const rate = chats * DIRECT_COST_RATE_PER_CHAT;
    const { cost, fsyncs } = await countedWithFsyncs(bench, () =>
      loadOnAgents(bench, topo.senders, rate, bench.params.stepMs * 10),
    );
    return { cost, rate, fsyncs };
  } finally {
    await closeAll(bench);
  }
}

export interface AggregateResult {
  search: Search;
  /** Figure 3: the latency at half of the best send rate. */
  half: Step | null;
  /** How long figure 3's step ran (the echo beside it runs as long). */
  halfMs: number;
  sockets: number;
}

/** The longest figure 3's step may run to gather its samples. */
const HALF_STEP_MAX_MS = 60_000;

/**
 * Figure 3's step: twice a step, or long enough for `latencySamples` deliveries at `perSecond`
 * (and as many echo round trips beside it), at most a minute.
 */
export function halfStepMs(bench: Bench, perSecond: number): number {
  const forSamples = Math.ceil((bench.params.latencySamples / Math.max(1, perSecond)) * 1000);
  return Math.max(bench.params.stepMs * 2, Math.min(HALF_STEP_MAX_MS, forSamples));
}

/** Figure 2 (and 3 at half its load) over `topo`'s chats. */
export async function aggregate(bench: Bench, open: () => Promise<Topology>): Promise<AggregateResult> {
  const topo = await open();
  try {
    await warmUp(bench, topo);
    const search = await findMaxRate(
      async () => {
        const r = await loadOnAgents(bench, topo.senders, 0, bench.params.stepMs, 1);
        return closedLoopRate(bench, r);
      },
      (rate) => deliveryStep(bench, topo, rate, bench.params.stepMs),
      bench.log,
      minRate(bench),
      bench.params.maxSteps,
    );
    let half: Step | null = null;
    let halfMs = bench.params.stepMs * 2;
    if (search.best) {
      const rate = Math.max(1, Math.round(search.best.offered / 2));
      halfMs = halfStepMs(bench, rate * topo.recipientsPerMessage);
      half = await deliveryStep(bench, topo, rate, halfMs);
      bench.log(`    at half load (${rate}/s): p50 ${half.p50.toFixed(1)} ms p99 ${half.p99.toFixed(1)} ms`);
    }
    return { search, half, halfMs, sockets: topo.sockets };
  } finally {
    await closeAll(bench);
  }
}
