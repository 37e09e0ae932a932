/**
 * Figures 4b and 4c. 4b: what one message costs in a large group with few members online, in
 * calls between objects and SQLite commits as the bench build's objects count them
 * (`/bench/counters`), for single sends seconds apart and for a burst. 4c: the fan-out to the
 * online members of a group of 10,000, against the same members in a group of 100, on a server
 * of its own that allows groups that large.
 */
import type { WorkerBuild } from "../bundle";
import { api, type Bench, closeAll, createGroup, type Device, deviceSpec, keyOf, openAll } from "../context";
import { awaitIdle } from "../idle";
import { type BenchServer, startWorkerd } from "../servers";
import { type LatencySummary, round, summarize } from "../stats";
import type { CountersView, Counts } from "../worker/counters-view";
import { timedSend, timedSends } from "./fanout";
import { collectDeliveries } from "./throughput";

/** Reads the bench build's counters; `reset` zeroes them after the read (answering what they held). */
export async function counters(server: BenchServer, reset: boolean): Promise<CountersView> {
  const res = await fetch(`${server.url}/bench/counters`, { method: reset ? "POST" : "GET" });
  if (!res.ok) throw new Error(`/bench/counters answered ${res.status}`);
  return (await res.json()) as CountersView;
}

/** What one window of sends cost, per message. */
export interface CostWindow {
  messages: number;
  /** Calls between objects per message (RPC from one object to another; not the Worker's, not `fetch`). */
  calls: number;
  commits: number;
  /** Per message: the Worker's own calls into objects, and SQL/storage write statements. */
  workerCalls: number;
  writes: number;
  /** Per message: writing statements that changed no row (no commit counted). */
  noopWrites: number;
  /** Per message, by `Caller->Callee.method` and by class. */
  callsBy: Counts;
  commitsBy: Counts;
  /** From the first send to the counters' read (the settle time included). */
  windowMs: number;
}

const perMessage = (counts: Counts, n: number): Counts =>
  Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v / n, 2)]));

function costOf(c: CountersView, messages: number, windowMs: number): CostWindow {
  return {
    messages,
    calls: c.totals.calls / messages,
    commits: c.totals.commits / messages,
    workerCalls: round(c.totals.workerCalls / messages, 2),
    writes: round(c.totals.writes / messages, 2),
    noopWrites: round(c.totals.noopWrites / messages, 2),
    callsBy: perMessage(c.calls, messages),
    commitsBy: perMessage(c.commits, messages),
    windowMs,
  };
}

/** The per-message counts by call and by class, largest first, for the log. */
export const breakdown = (w: CostWindow): string =>
  [...Object.entries(w.callsBy), ...Object.entries(w.commitsBy).map(([k, v]) => [`${k} commits`, v] as const)]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");

/**
 * `count` of `users`, evenly spaced and the first among them: the online members sit all along
 * the member list, not only at its head, which a fan-out in member order reaches first.
 */
function spread(users: string[], count: number): string[] {
  const stride = Math.max(1, Math.floor(users.length / count));
  return Array.from({ length: Math.min(count, users.length) }, (_, i) => users[i * stride] as string);
}

export const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

/**
 * One counted window of `messages` sends made by `send`: it starts on an idle server with the
 * counters reset and reads them `settleMs` after `send` is done (and at least `coverMs` after it
 * began), on an idle server, so that what the sends leave for later is counted with them. The
 * window before it must have ended `settleMs` earlier, or its deferred work lands in this one.
 */
export function countedWindow(bench: Bench, messages: number, send: () => Promise<void>): Promise<CostWindow> {
  return countedSends(bench, async () => {
    await send();
    return messages;
  });
}

/** A counted window as `countedWindow`'s, for sends whose number is known only once made: `send` answers it. */
export async function countedSends(bench: Bench, send: () => Promise<number>): Promise<CostWindow> {
  const p = bench.params.cost;
  await awaitIdle(bench.server);
  await collectDeliveries(bench, true, false);
  await counters(bench.server, true);
  const start = Date.now();
  const messages = await send();
  await sleepUntil(Math.max(Date.now() + p.settleMs, start + p.coverMs));
  await awaitIdle(bench.server);
  return costOf(await counters(bench.server, false), messages, Date.now() - start);
}

export interface CostResult {
  members: number;
  online: number;
  singles: CostWindow;
  burst: CostWindow;
  /** Sender → the last online member, one sample per single send. */
  latency: LatencySummary;
  /** Whether the Worker read counts from both object classes (they share its isolate). */
  oneIsolate: boolean;
}

/**
 * Figure 4b: a group of `members` (member 0 creates it), `online` of them, spread along the
 * member list, connected with one device each (member 0 sends). Each window starts with the
 * counters reset on an idle server, and reads them when the online members hold every message
 * and `settleMs` more have passed (receipts, group commits and deferred writes run after a
 * delivery: the members' inbox flush waits up to INBOX_FLUSH_MS, 30 s by default), and at least
 * `coverMs` after the window's first send, so that the chat's check alarm (10 s after a send)
 * falls inside.
 */
export async function costPerMessage(bench: Bench): Promise<CostResult> {
  const p = bench.params.cost;
  const users = Array.from({ length: p.members }, (_, i) => `${bench.runId}-f4b-m${i}`);
  const chatId = await createGroup(bench, users[0] as string, users.slice(1));
  const created = Date.now();
  const devices: Device[] = spread(users, p.online).map((userId, i) => ({
    userId,
    device: "phone",
    agent: i % bench.agents.length,
  }));
  const sender = keyOf(devices[0] as Device);
  const recipients = p.online - 1;
  await openAll(
    bench,
    devices.map((d) => ({ spec: deviceSpec(bench, d), agent: d.agent })),
  );
  try {
    await sleepUntil(created + Math.max(p.coverMs, p.settleMs));
    const window = (messages: number, send: () => Promise<void>) => countedWindow(bench, messages, send);

    const samples: number[] = [];
    const singles = await window(p.singles, async () => {
      for (let i = 0; i < p.singles; i++) {
        const due = Date.now() + p.gapMs;
        samples.push(await timedSend(bench, sender, chatId, recipients, `${bench.runId}-f4b-${i}`));
        if (i < p.singles - 1) await sleepUntil(due);
      }
    });
    const latency = summarize(samples.filter(Number.isFinite), samples.filter((s) => !Number.isFinite(s)).length);
    // Counts made by both classes (as callers or committers) in one read by the Worker: they share its isolate.
    const counted = new Set([
      ...Object.keys(singles.callsBy).map((k) => k.split("->")[0]),
      ...Object.keys(singles.commitsBy),
    ]);
    const oneIsolate = counted.has("ChatObject") && counted.has("UserObject");

    const burst = await window(p.burst, async () => {
      const r = await bench.agents[0]?.call({
        cmd: "burst",
        key: sender,
        chatId,
        count: p.burst,
        window: 1,
        bodyBytes: bench.params.bodyBytes,
      });
      if (!r || r.errors > 0) throw new Error(`burst: ${r?.errors ?? "no"} errors`);
      const deadline = Date.now() + 60_000;
      while ((await collectDeliveries(bench, false, false)).count < p.burst * recipients) {
        if (Date.now() > deadline) throw new Error("burst: not every online member got every message in 60 s");
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    for (const [label, w] of [
      ["single sends", singles],
      ["burst", burst],
    ] as const)
      bench.log(
        `    ${label}: ${w.calls.toFixed(1)} calls and ${w.commits.toFixed(1)} commits per message (${w.messages} messages): ${breakdown(w)}`,
      );
    return { members: p.members, online: p.online, singles, burst, latency, oneIsolate };
  } finally {
    await closeAll(bench);
  }
}

export type BigGroupResult =
  | { measured: true; small: Timed; big: Timed; setupMs: number; members: number; online: number }
  | { measured: false; reason: string };

/** Last arrivals over `samples` sends (fewer than asked when the time ran out). */
type Timed = LatencySummary & { samples: number };

/** Most members at creation (protocol/http.ts's `createChatBody`); the rest are added one per request. */
const CREATE_CAP = 1024;
const ADDS_IN_FLIGHT = 8;
/** How long adding runs before the rate so far is used to tell whether the group can be filled in time. */
const PROJECT_AFTER_MS = 20_000;

/**
 * Figure 4c, on a server of its own with MAX_GROUP_MEMBERS raised: the same `online` members
 * (connected, member 0 sends; in the big group spread along the member list) in a group of
 * `online` and in a group of `members`, created with 1,024 and grown by adding one member per
 * request, 8 in flight, for at most `budgetMs`, and for 20 s only if the rate of those 20 s
 * could not fill it within `budgetMs`.
 */
export async function bigGroupFanout(bench: Bench, build: WorkerBuild): Promise<BigGroupResult> {
  const p = bench.params.bigGroup;
  if (!p) return { measured: false, reason: "not in this mode" };
  const server = await startWorkerd(build, { vars: { MAX_GROUP_MEMBERS: String(p.members) } });
  const b: Bench = { ...bench, server };
  try {
    const users = Array.from({ length: p.members }, (_, i) => `${bench.runId}-f4c-m${i}`);
    const owner = users[0] as string;
    const start = Date.now();
    const online = spread(users, p.online);
    const small = await createGroup(b, owner, online.slice(1));
    const big = await createGroup(b, owner, users.slice(1, Math.min(CREATE_CAP, p.members)));
    let next = Math.min(CREATE_CAP, p.members);
    let added = next;
    const until = start + p.budgetMs;
    const addStart = Date.now();
    let projected: number | null = null;
    const adder = async () => {
      while (next < p.members && Date.now() < until && projected === null) {
        const userId = users[next++] as string;
        const res = await api(b, owner, "POST", `/v1/chats/${big}/members`, { userId });
        if (res.status >= 300) throw new Error(`adding a member answered ${res.status}: ${JSON.stringify(res.body)}`);
        added += 1;
        // After a while, give up if even the rate so far (which falls as the group grows) cannot fill it in time.
        const elapsed = Date.now() - addStart;
        if (elapsed > PROJECT_AFTER_MS && projected === null) {
          const total = elapsed + ((p.members - added) * elapsed) / Math.max(1, added - CREATE_CAP);
          if (addStart + total > until) projected = total;
        }
      }
    };
    await Promise.all(Array.from({ length: ADDS_IN_FLIGHT }, adder));
    const addMs = Date.now() - start;
    bench.log(`    group of ${added} members after ${(addMs / 1000).toFixed(0)} s`);
    if (added < p.members) {
      const how = `one member per request, ${ADDS_IN_FLIGHT} in flight, the first ${CREATE_CAP} at creation`;
      const rate = (added - CREATE_CAP) / ((Date.now() - addStart) / 1000);
      const stop =
        projected === null
          ? `the budget of ${Math.round(p.budgetMs / 1000)} s ran out`
          : `at that rate (${rate.toFixed(1)} adds/s, falling as the group grows) filling it would take at least ${Math.round(projected / 1000)} s, over the budget of ${Math.round(p.budgetMs / 1000)} s`;
      return {
        measured: false,
        reason: `the group had ${added} of ${p.members} members after ${Math.round(addMs / 1000)} s (${how}); ${stop}`,
      };
    }
    // The last adds' fan-out (each add is a system message to every member) must be over.
    for (let i = 0; i < 10 && !(await awaitIdle(server)).idle; i++);
    const setupMs = Date.now() - start;
    const devices: Device[] = online.map((userId, i) => ({ userId, device: "phone", agent: i % bench.agents.length }));
    await openAll(
      b,
      devices.map((d) => ({ spec: deviceSpec(b, d), agent: d.agent })),
    );
    try {
      const sender = keyOf(devices[0] as Device);
      const limits = { waitMs: 60_000, until: Date.now() + p.budgetMs };
      const inSmall = await timedSends(b, sender, small, p.online - 1, "f4c-small", limits);
      const inBig = await timedSends(b, sender, big, p.online - 1, "f4c-big", limits);
      bench.log(
        `    last of ${p.online} online: p50 ${inSmall.p50.toFixed(1)} ms in a group of ${p.online}, ${inBig.p50.toFixed(1)} ms in ${p.members}`,
      );
      return { measured: true, small: inSmall, big: inBig, setupMs, members: p.members, online: p.online };
    } finally {
      await closeAll(b);
    }
  } finally {
    await server.stop();
  }
}
